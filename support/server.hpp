// support/server.hpp: a server process (redis-server, memcached) started on a free
// loopback port for one test or benchmark run, and stopped with it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace shmtable::support {

class Server {
public:
  // Finds `program` on PATH or in the sbin directories; false (with `why`) if it is not
  // installed.
  static bool find(const std::string &program, std::string &path, std::string &why);

  // The server is killed when the thread that starts it exits (PR_SET_PDEATHSIG), so a
  // test or run killed by SIGKILL leaves no server behind: start it from a thread that
  // lives as long as it is used (the main thread).
  //
  // Starts `path` with `args` ("{port}" replaced by a free port), output discarded, and
  // waits until the port accepts connections, or the unix socket `ready_socket` does if
  // one is given. Throws std::runtime_error on failure.
  Server(const std::string &path, std::vector<std::string> args, std::string ready_socket = {});
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // Kills the server with `signal` and reaps it (a test's crash of the server).
  void kill(int signal);
  // Starts it again with the same arguments on the same port, and waits as the
  // constructor does.
  void restart();

private:
  void start();

  std::string path_;
  std::vector<std::string> args_;
  std::string ready_socket_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A redis-server of its own on a free loopback port: no persistence, no protected mode.
class RedisServer {
public:
  // nullptr, with `why`, if redis-server is not installed.
  static std::unique_ptr<RedisServer> start(std::string &why);
  explicit RedisServer(const std::string &path);

  // "redis://127.0.0.1:PORT", for RedisOptions::connect_to().
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(server_.port()); }
  Server &process() { return server_; }

private:
  Server server_;
};

} // namespace shmtable::support
