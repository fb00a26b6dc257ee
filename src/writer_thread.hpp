// A thread's private state for the lock-free engine's writes: its key memo
// (key_memo.hpp; 512 KiB, zeroed on the thread's first write through a memoizing handle) and the
// scratch strings of read-modify-writes, reused across calls.
//
// Reached through one trivially destructible thread_local (a pointer), so that a write
// through the shared library looks its thread's storage up once (each __tls_get_addr
// is ~11 instructions, callgrind); the state itself is made on the thread's first write
// and freed when the thread exits.
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
  static inline thread_local WriterThread *current_ = nullptr;
  static inline thread_local bool gone_ = false;
};

} // namespace shmtable::detail::lockfree
