// bench/server.cpp: starting and stopping a peer's server on a free loopback port.
#include "server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace shmtable::bench {
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

Server::Server(const std::string &path, std::vector<std::string> args) : port_(free_port()) {
  for (auto &a : args) {
    if (a == "{port}") {
      a = std::to_string(port_);
    }
  }
  pid_ = ::fork();
  if (pid_ < 0) {
    throw std::runtime_error("server: fork failed");
  }
  if (pid_ == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char *> argv{const_cast<char *>(path.c_str())};
    for (auto &a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(path + " exited before accepting connections");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(path + " did not accept connections on port " +
                               std::to_string(port_) + " within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Server::~Server() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

} // namespace shmtable::bench
