// support/server.cpp: starting and stopping a server on a free loopback port.
#include "server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace shmtable::support {
namespace {

// A port the kernel just handed out, released again for the server to bind.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
    throw std::runtime_error("server: no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts_at(const std::string &socket_path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  socket_path.copy(a.sun_path, sizeof a.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

} // namespace

bool Server::find(const std::string &program, std::string &path, std::string &why) {
  // PATH, then the sbin directories a non-root PATH often lacks (memcached lives there).
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin:/usr/bin";
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    const std::string p = dir + "/" + program;
    if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) {
      path = p;
      return true;
    }
  }
  why = program + " is not installed";
  return false;
}

Server::Server(const std::string &path, std::vector<std::string> args, std::string ready_socket)
    : path_(path), args_(std::move(args)), ready_socket_(std::move(ready_socket)),
      port_(free_port()) {
  for (auto &a : args_) {
    if (a == "{port}") {
      a = std::to_string(port_);
    }
  }
  start();
}

void Server::start() {
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    throw std::runtime_error("server: fork failed");
  }
  if (pid_ == 0) {
    // The server dies with the process that started it, even one killed by SIGKILL (a
    // test binary or a stress run that crashes leaves no server behind). PDEATHSIG is
    // tied to the thread that forked: the caller's, which outlives the server's use.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) { // the parent died before prctl took effect
      ::_exit(127);
    }
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char *> argv{path_.data()};
    for (auto &a : args_) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(path_.c_str(), argv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ready_socket_.empty() ? !accepts(port_) : !accepts_at(ready_socket_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(path_ + " exited before accepting connections");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(
          path_ + " did not accept connections on " +
          (ready_socket_.empty() ? "port " + std::to_string(port_) : ready_socket_) +
          " within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Server::kill(int signal) {
  if (pid_ > 0) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void Server::restart() {
  kill(SIGKILL);
  start();
}

Server::~Server() { kill(SIGTERM); }

std::unique_ptr<RedisServer> RedisServer::start(std::string &why) {
  std::string path;
  if (!Server::find("redis-server", path, why)) {
    why += " (apt-get install redis-server)";
    return nullptr;
  }
  return std::make_unique<RedisServer>(path);
}

RedisServer::RedisServer(const std::string &path)
    : server_(path, {"--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--protected-mode", "no"}) {}

} // namespace shmtable::support
