// A thread's private state for the lock-free engine's writes: its key memo
// (key_memo.hpp; 512 KiB, zeroed on the thread's first write through a memoizing handle) and the
// scratch strings of read-modify-writes, reused across calls.
//
// Reached through one trivially destructible thread_local (a pointer), so that a write
// looks its thread's storage up once; the state itself is made on the thread's first
// write and freed when the thread exits.
//
// The pointers that the data path reads (this one, StatsThread's) are initial-exec TLS:
// one %fs-relative load, where the default model of a shared library calls
// __tls_get_addr (~11 instructions per lookup, callgrind). It is safe for the library
// loaded by dlopen (the Node addon: node/binding.gyp compiles these sources into the
// .node that Node dlopens): the library is marked STATIC_TLS, and glibc places its whole
// TLS block (all its thread_locals: 80 bytes) in the surplus of static TLS it keeps for
// such modules (rtld.optional_static_tls, 512 bytes by default); were that used up,
// dlopen would fail ("cannot allocate memory in static TLS block"), not run wrong. So
// the library's thread_locals stay a few words: pointers to heap state.
#pragma once

#include <memory>
#include <string>

#include "key_memo.hpp"

namespace shmtable::detail::lockfree {

struct WriterThread {
  std::unique_ptr<KeyMemo> memo; // made on the first write through a memoizing handle
  std::string strings[2];

  static WriterThread &get() {
    if (current_ == nullptr) [[unlikely]] {
      make();
    }
    return *current_;
  }

private:
  struct Owner {
    std::unique_ptr<WriterThread> state;
    ~Owner() {
      current_ = nullptr;
      gone_ = true;
    }
  };
  [[gnu::noinline, gnu::cold]] static void make() {
    if (gone_) {
      // A write from a thread_local destructor that runs after the Owner's: the Owner
      // cannot be used again, so this last state is never freed.
      current_ = new WriterThread();
      return;
    }
    thread_local Owner owner;
    owner.state = std::make_unique<WriterThread>();
    current_ = owner.state.get();
  }
  [[gnu::tls_model("initial-exec")]] static inline thread_local WriterThread *current_ = nullptr;
  static inline thread_local bool gone_ = false;
};

} // namespace shmtable::detail::lockfree
