// bench/server.hpp: a peer's server process (redis-server, memcached), started on a free
// loopback port for one driver run and stopped with it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace shmtable::bench {

class Server {
public:
  // Finds `program` on PATH; false (with `why`) if it is not installed.
  static bool find(const std::string &program, std::string &path, std::string &why);

  // Starts `path` with `args` ("{port}" replaced by a free port), output discarded, and
  // waits until the port accepts connections. Throws std::runtime_error on failure.
  Server(const std::string &path, std::vector<std::string> args);
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  int port() const { return port_; }

private:
  pid_t pid_ = -1;
  int port_ = 0;
};

} // namespace shmtable::bench
