/*
 * slot_protocol.pml: a Promela model of the lock-free engine's slot protocol
 * (papers/protocol.md, src/lockfree_engine.hpp), checked exhaustively with spin.
 *
 * Granularity: one atomic { } is one shared-memory access of the real code (an 8-byte
 * load or store of a record word, a load128 of a control word, one cas128), together
 * with the local computation that follows it and the ghost bookkeeping that belongs to
 * that instant. A process may crash (CRASHPT) instead of any step that writes shared
 * memory: it then never runs again and detaches (the kernel drops a dead process's OFD
 * lock). A crash just before a read is the same as one just before the next write,
 * because reads leave no trace, so those crash points would only add equivalent states.
 * The memory model is sequential consistency; README.md says why that is sound for
 * x86-TSO here and what is left to Relacy.
 *
 * The magazine (src/magazine.hpp): each process is one handle with one thread, and keeps
 * at most one spare record buffer between its writes (`spare`, a Worker local: it is in
 * the handle, not in the segment). release() keeps an unpublished buffer as the spare if
 * the spare is empty, else pushes it; fill() takes the spare before popping; a process
 * that finishes returns its spare to the pool (drop_magazine at close). Every process
 * holds a spare permit (P4): NBUF gives each process room for two buffers, so that
 * max_spares_for(NBUF, NSLOT) = NPROC. The spare is process-private, so taking and
 * keeping it are folded into the shared step they follow (the unpublishing CAS) or
 * precede (the first store of the refill); GiveBack's keep and close's take are steps of
 * their own (they touch only the spare and ghost state). A dead process's spare is
 * leaked until recover() reclaims it: a dead process leaks at most two buffers.
 *
 * The key memo (src/key_memo.hpp): every control word has an epoch (Ctrl.ep; the engine's
 * version >> 16). The reservation CAS starts a new one, every other CAS keeps it, so
 * within one epoch a slot is bound to one key (M2). Each process keeps, per slot, the
 * last (epoch, key) it knows (memo_ep, memo_key: Worker locals, the handle's thread's
 * memo). It writes an entry after its own update publish or promote of k in a slot, and
 * after a validated match of k on a kLive word in a visit without a value copy (M1). A
 * visit without a value copy (set, erase, and the scan of an insert) that loads a kLive
 * word with k's fingerprint and an epoch the memo holds decides from the memo alone: k's
 * iff the memo's key is k, with no read of the key word and no R3. Entries are never
 * invalidated: one whose epoch is not the word's does not apply. Writing the memo is
 * process-local, so it is folded into the step it follows.
 *
 * Expiry (T1, T2 in src/lockfree_engine.hpp): a record has a deadline (bdl: 0 none, else
 * the clock value from which it is gone) and its word a `timed` bit (Ctrl.tmd), set
 * exactly when the deadline is not 0 (checked in every state). The clock (`now`) is a
 * number that only grows: the Clock process (scenario expiry) moves it from 0 to 1 once,
 * at any point, so a deadline of 1 passes during the run and one of 2 never does. The
 * abstract map holds a key only while its live record has not expired: the tick, and a
 * publish of a record whose deadline has passed already, make it absent (a linearization
 * point, as an erase is). A visit reads a timed record's deadline and the clock in one
 * step (both are reads, so nothing is lost by folding them) and, for an expired kLive
 * record, reports F_EXPIRED: a get misses there, a write takes the key as absent and
 * overwrites the word in place, the scan of an insert withdraws, and a write that does
 * not write, an erase and purge_expired() free it with reclaim(): one CAS from the word
 * whose record was found expired (validated by R3) to kFree, then the buffer released.
 * fill() writes the deadline in the step of the key word (two relaxed stores to a private
 * buffer; a reader that reads either through a recycle fails R3 alike). Not modelled:
 * reclaim_near() (an insert that finds its window full of expired entries: table_full is
 * not reachable at these bounds; Relacy's reclaim_insert_race runs it), and size().
 *
 * Eviction (E2 in src/lockfree_engine.hpp; protocol.md section 15): OP_EVICT is one
 * evict_by_hand(): the hand steps over the slots, at most two turns (2 x NSLOT steps),
 * from a slot chosen nondeterministically, and stops at the first entry it frees. Each
 * step loads the word (hand_step): kFree and kPending are passed (never a reservation:
 * its owner holds its buffer, I4, P1); a timed kLive word is judged (R2 its deadline, R3
 * with the clock) and an expired one reclaimed as T2 does, to the pool; an untimed or
 * unexpired kLive one is either passed or evicted by ONE CAS from the very word loaded
 * to kFree, then its buffer pushed to the pool (never the spare). That CAS is an erase of
 * its key by nobody: the abstract map drops the key at that step, as at an erase's CAS.
 * The reference marks (E1) are abstracted away: whether a live entry is passed (marked,
 * its mark cleared: a second chance) or evicted is a nondeterministic choice, which
 * allows every victim CLOCK could pick and more. The hand's shared counter orders nothing
 * (a relaxed fetch_add) and is not modelled: each evicting process moves a hand of its
 * own. The engine runs this inside insert_new() when the entry counter reaches
 * evict_at (and evict_near() over the key's window when that is full: at NSLOT = 3 the
 * window is the whole table, so the same steps); the model runs it as an operation of
 * its own, at any point, which is more general (the counter is statistics, the threshold
 * a policy). A process that dies between the eviction CAS and the push leaks the victim's
 * buffer; the engine's inserter then holds its filled buffer too, and its spare is
 * empty (fill took it), so P2's two per process hold there as here.
 *
 * Planted bugs, one at a time, each from this file via a cpp define (check.sh -p NAME):
 *   PLANTED_SKIP_RECHECK          visit() returns its copy without the R3 re-check
 *   PLANTED_NO_DUP_SCAN           insert_new() promotes without cancel_rivals() (I3)
 *   PLANTED_PUBLISH_BEFORE_WRITE  mutate() publishes the new buffer, then fills it
 *   PLANTED_CAS_AS_STORE          update/erase publish with load-compare-then-store
 *   PLANTED_WAIT_FOR_PENDING      an inserter waits for a rival kPending to resolve
 *                                 instead of cancelling it (model-only: a blocking design)
 *   PLANTED_SPARE_KEEPS_LIVE      after an update's publish the handle keeps the buffer
 *                                 it has just published as its spare (P3 broken)
 *   PLANTED_RESERVE_KEEPS_EPOCH   the reservation CAS keeps the epoch (M2 broken): a stale
 *                                 memo entry applies to a slot re-bound to another key
 *   PLANTED_RECLAIM_STALE_WORD    reclaim() CASes from a word it loads again, not the one
 *                                 whose record it found expired (T2 broken)
 *   PLANTED_EVICT_PENDING         the hand takes kPending words too: it frees the word and
 *                                 pushes the buffer its owner still holds (E2 broken)
 * All but WAIT_FOR_PENDING are the library's own planted bugs
 * (src/planted.hpp).
 */

/* ---- Scenarios (check.sh -s NAME): what the processes do, and the bounds ---------
 * Each is small enough for an exhaustive search; together they reach every row of the
 * transition table in protocol.md section 3 (README.md lists which scenario reaches
 * what). Each worker runs two operations, each written as op, key, arg, arg2 (set and
 * add: the deadline they give what they create, 0 for none; compare_and_set: the new
 * value). */
#if defined(SCENARIO_RACE3)
/* Two first inserts of K1 racing (set, and add of an absent key) while P2 reads K1:
 * the reader must never see K1 before a promote, nor two values. */
#define NPROC 3
#define MAXCRASH 2
#define SCRIPT0 OP_SET, K1, 10, 0, OP_NOP, 0, 0, 0
#define SCRIPT1 OP_ADD, K1, 1, 0, OP_NOP, 0, 0, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_RECYCLE)
/* Seqlock reads while K1's buffers are recycled under them: K1 = 10 to start; P0
 * updates then erases it, P1 adds to it then inserts the colliding K2 (which probes past
 * K1, filling its spare: the buffer its add unpublished, which P2 may still be copying,
 * or else the buffer popped last), P2 reads K1. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define SCRIPT0 OP_SET, K1, 20, 0, OP_ERASE, K1, 0, 0
#define SCRIPT1 OP_ADD, K1, 1, 0, OP_SET, K2, 30, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_MOVE)
/* Keys that move: K1 = 10 at slot 0 and K2 = 30 at slot 1 (both homed at 0) to start;
 * P0 erases and re-inserts K1, P1 erases and re-inserts K2, so either can land in
 * another slot (K2 in K1's old one, K1 past it) while P2 looks for K1: a miss must
 * linearize at an instant when K1 was absent, with the bound read before the scan. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define PRELOAD_K2
#define SCRIPT0 OP_ERASE, K1, 0, 0, OP_SET, K1, 20, 0
#define SCRIPT1 OP_ERASE, K2, 0, 0, OP_SET, K2, 40, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_CAS)
/* Two compare_and_set(K1, 10 -> x) racing on K1 = 10: exactly one may write, the other
 * must see the winner's value and not write (linearized at its validated read); then
 * an erase, while P2 reads K1. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define SCRIPT0 OP_CAS, K1, 10, 11, OP_NOP, 0, 0, 0
#define SCRIPT1 OP_CAS, K1, 10, 12, OP_ERASE, K1, 0, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_MEMO)
/* The key memo across a re-binding: K1 = 10 at slot 0 to start; P0 sets K1 twice (the
 * first set memoizes slot 0 as K1's, the second may decide from the memo), P1 erases K1
 * and inserts the colliding K2, which reserves slot 0 again (a new epoch) once K1 is
 * gone, while P2 reads K1. P0's memo of slot 0 must not apply to K2's binding. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define SCRIPT0 OP_SET, K1, 20, 0, OP_SET, K1, 21, 0
#define SCRIPT1 OP_ERASE, K1, 0, 0, OP_SET, K2, 40, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_EXPIRY)
/* Expiry (T1, T2): K1 = 10 with deadline 1 at slot 0 to start, and the clock ticks from 0
 * to 1 at any point (Clock). P0 sets K1 = 20 with deadline 2 (over the live or the
 * expired entry, in place; or a fresh insert once it is freed), then adds 1 with
 * deadline 1 (to 20, keeping deadline 2; or from absent, giving deadline 1, which the
 * tick ends, or which has passed already when it is published); P1 frees expired
 * entries (purge_expired), then erases K1 (a live one, or it reclaims an expired one);
 * P2 reads K1. The planted reclaim_stale_word frees P0's set of K1 when P1's purge
 * found the first K1 expired and P0's set was published in between. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define PRELOAD_K1_DEADLINE 1
#define HAS_CLOCK
#define SCRIPT0 OP_SET, K1, 20, 2, OP_ADD, K1, 1, 1
#define SCRIPT1 OP_PURGE, 0, 0, 0, OP_ERASE, K1, 0, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#elif defined(SCENARIO_EVICT)
/* Eviction (E2): K1 = 10 at slot 0 to start. P0 sets K1 = 20 (an update; or, once the
 * hand evicted K1, an insert), then inserts the colliding K2 (a kPending word the hand
 * meets and must pass); P1 evicts one entry by the hand (K1 old or new, or K2, racing
 * P0's update CAS and its reservation); P2 reads K1, and may miss it only at an instant
 * the eviction made it absent. The planted evict_pending frees P0's reservation and
 * pushes the buffer P0 still holds. */
#define NPROC 3
#define MAXCRASH 2
#define PRELOAD_K1
#define SCRIPT0 OP_SET, K1, 20, 0, OP_SET, K2, 30, 0
#define SCRIPT1 OP_EVICT, 0, 0, 0, OP_NOP, 0, 0, 0
#define SCRIPT2 OP_GET, K1, 0, 0, OP_NOP, 0, 0, 0
#else /* SCENARIO_RACE, the default */
/* Racing first inserts of K1 (set and add: cancels, withdraws, lost promotes), an update
 * that recycles a buffer, and the colliding K2 inserted past K1; both may crash. */
#define NPROC 2
#define MAXCRASH 2
#define SCRIPT0 OP_SET, K1, 10, 0, OP_SET, K1, 20, 0
#define SCRIPT1 OP_ADD, K1, 1, 0, OP_SET, K2, 30, 0
#endif

#define NSLOT 3 /* capacity 3: max probe distance 2 */
/* One per slot + two per process: its operation's hands and its spare (P2, P3). This
 * never runs out, and pop() asserts that it does not. max_spares_for(NBUF, NSLOT) is
 * (NBUF - NSLOT) / 2 = NPROC: every process may hold a spare permit (P4). */
#define NBUF (NSLOT + 2 * NPROC)
#define NKEY 2
#define MAXDIST (NSLOT - 1)
#ifndef MAXROUND
#define MAXROUND 2 /* insert rounds lost to a rival's cancel before the run is cut */
#endif

#define FREE 0
#define PENDING 1
#define LIVE 2
#define NONE 255

/* Both keys hash home to slot 0 with the same fingerprint: a worst case in which probing
 * and the bound matter, and a key is told apart only by the key word in its record. */
#define K1 1
#define K2 2
#define HOME(k) 0
#define FP(k) 7

#define OP_NOP 0
#define OP_GET 1
#define OP_SET 2
#define OP_ADD 3
#define OP_CAS 4
#define OP_ERASE 5
#define OP_PURGE 6 /* purge_expired() */
#define OP_EVICT 7 /* evict_by_hand(): free one entry (E2) */

#define F_NO 0
#define F_PENDING 1
#define F_LIVE 2
#define F_EXPIRED 3 /* the key's kLive record, its deadline passed (T2) */

/* insert_new() results */
#define R_INSERTED 0
#define R_KEYLIVE 1
#define R_FULL 2

/* ---- Shared memory ---------------------------------------------------------------- */

/* The 16-byte control word: lo = ver (W1), hi = state | bound | fingerprint | timed |
 * buffer.
 * ep is the version's epoch (the engine's version >> 16): the reservation CAS starts a new
 * one, every other CAS keeps it, so within one epoch a slot is bound to one key. */
typedef Ctrl {
  byte ver;
  byte ep;
  byte st;
  byte bnd;
  byte fp;
  bit tmd; /* timed: the record has a deadline (T1) */
  byte buf
};
Ctrl ctrl[NSLOT];

/* Record buffers: word 0 is the key (the real record's length word and key words; it is
 * also the free-list link word, as in BufferPool), then the value in two words that every
 * writer writes with the same tag, so a copy mixing two writes shows as bva != bvb. */
byte bkey[NBUF];
byte bva[NBUF];
byte bvb[NBUF];
byte bdl[NBUF]; /* the record's deadline: 0 none, else the clock value it expires at (T1) */
byte now;       /* the table clock: only grows (Clock) */
#define EXPIRED_AT(dl) ((dl) != 0 && (dl) <= now)
#define EXPIRED_BUF(b) EXPIRED_AT(bdl[b])

/* The pool head: one 16-byte word {version, top + 1, bump}. */
byte pver;
byte ptop;
byte pbump;

byte attached = NPROC; /* handles attached: recover() runs only at 0 */
byte dead;             /* workers that crashed (or were cut at MAXROUND) */

/* ---- Ghost state (no counterpart in the segment) -------------------------------- */
byte skey[NSLOT];          /* the key a kPending/kLive slot holds (set by reserve) */
byte absval[NKEY + 1];     /* the abstract map: key -> value, 0 = absent; changed only */
                           /* at linearization points (promote, update, erase CAS) */
bit onfree[NBUF];          /* the buffer is on the pool's free list (P1) */
bit spared[NBUF];          /* the buffer is some process's spare (P3); the spare itself */
                           /* is the Worker local `spare` */
byte deadspares;           /* spares of dead processes: leaked until recover() */
byte want[NPROC];          /* the key a process's find() is looking for (0: none) */
bit absent_seen[NPROC];    /* that key was absent at some instant since find() began */

/* ---- Invariants over the whole state (checked by Monitor in every state) -------- */
#define LV(s) (ctrl[s].st == LIVE)
/* live and not expired: present in the abstract map (T2) */
#define LVP(s) (LV(s) && !EXPIRED_BUF(ctrl[s].buf))
#define ENT(s) (ctrl[s].st != FREE)
#define DUP(s, t) (LV(s) && LV(t) && skey[s] == skey[t])
#define I3_NO_DUPLICATE_KEYS (!DUP(0, 1) && !DUP(0, 2) && !DUP(1, 2))
#define SAMEBUF(s, t) (ENT(s) && ENT(t) && ctrl[s].buf == ctrl[t].buf)
#define P1_ONE_SLOT_PER_BUFFER (!SAMEBUF(0, 1) && !SAMEBUF(0, 2) && !SAMEBUF(1, 2))
#define HAS(k) ((LVP(0) && skey[0] == k) || (LVP(1) && skey[1] == k) || \
                (LVP(2) && skey[2] == k))
#define MAP_MATCHES_SLOTS (((absval[K1] != 0) == HAS(K1)) && ((absval[K2] != 0) == HAS(K2)))
/* I2 + publish order: a named buffer holds its slot's key and one whole value, and a
 * kLive one that has not expired the abstract value. */
#define REC_OK(s) (!ENT(s) || (bkey[ctrl[s].buf] == skey[s] && \
                   bva[ctrl[s].buf] == bvb[ctrl[s].buf] && \
                   (!LVP(s) || bva[ctrl[s].buf] == absval[skey[s]])))
#define I2_RECORDS_MATCH (REC_OK(0) && REC_OK(1) && REC_OK(2))
#define DIST(s) (((s) + NSLOT - HOME(skey[s])) % NSLOT)
#define I1_OK(s) (!ENT(s) || DIST(s) <= ctrl[HOME(skey[s])].bnd)
#define I1_BOUNDS_COVER (I1_OK(0) && I1_OK(1) && I1_OK(2))
/* Whether buffer b is named by a kPending/kLive word: then nobody may write it (I2). */
#define NAMED(b) ((ENT(0) && ctrl[0].buf == b) || (ENT(1) && ctrl[1].buf == b) || \
                  (ENT(2) && ctrl[2].buf == b))
/* P3: a spare is in no slot and not on the free list. */
#define SPARE_OK(b) (!spared[b] || (!NAMED(b) && !onfree[b]))
#if NBUF == 7
#define P3_SPARES_UNREACHABLE (SPARE_OK(0) && SPARE_OK(1) && SPARE_OK(2) && SPARE_OK(3) && \
                               SPARE_OK(4) && SPARE_OK(5) && SPARE_OK(6))
#elif NBUF == 9
#define P3_SPARES_UNREACHABLE (SPARE_OK(0) && SPARE_OK(1) && SPARE_OK(2) && SPARE_OK(3) && \
                               SPARE_OK(4) && SPARE_OK(5) && SPARE_OK(6) && SPARE_OK(7) && \
                               SPARE_OK(8))
#else
#error "P3_SPARES_UNREACHABLE: list the buffers for this NBUF"
#endif
/* T1: a kPending/kLive word is timed exactly when its record has a deadline. */
#define T1_OK(s) (!ENT(s) || ctrl[s].tmd == (bdl[ctrl[s].buf] != 0))
#define T1_TIMED_BIT (T1_OK(0) && T1_OK(1) && T1_OK(2))
#define INVARIANTS (I3_NO_DUPLICATE_KEYS && P1_ONE_SLOT_PER_BUFFER && MAP_MATCHES_SLOTS && \
                    I2_RECORDS_MATCH && I1_BOUNDS_COVER && P3_SPARES_UNREACHABLE && \
                    T1_TIMED_BIT)

/* ---- Steps ------------------------------------------------------------------------- */

/* A crash instead of the write that follows: the process stops forever. dead is
 * counted here, in the same step, so that MAXCRASH bounds the crashes exactly. */
#define CRASHPT if :: (dead < MAXCRASH) -> dead++; goto crashed :: true -> skip fi

#define LOAD(c, s) c.ver = ctrl[s].ver; c.ep = ctrl[s].ep; c.st = ctrl[s].st; \
                   c.bnd = ctrl[s].bnd; c.fp = ctrl[s].fp; c.tmd = ctrl[s].tmd; \
                   c.buf = ctrl[s].buf
#define SAME(s, c) (ctrl[s].ver == c.ver && ctrl[s].ep == c.ep && ctrl[s].st == c.st && \
                    ctrl[s].bnd == c.bnd && ctrl[s].fp == c.fp && ctrl[s].tmd == c.tmd && \
                    ctrl[s].buf == c.buf)
#define ZERO(c) c.ver = 0; c.ep = 0; c.st = 0; c.bnd = 0; c.fp = 0; c.tmd = 0; c.buf = 0
/* W1: every successful CAS increments the version; a byte must not wrap in the model. */
#define BUMP(s) \
  CHECK(ctrl[s].ver < 250, "model-version-bound"); ctrl[s].ver = ctrl[s].ver + 1
/* The reservation CAS (and only it) starts a new epoch: the engine's version becomes
 * (version | 0xffff) + 1. The planted reserve_keeps_epoch keeps the epoch (version + 1
 * only), so a stale memo entry can apply to a slot bound to another key since. */
#ifdef PLANTED_RESERVE_KEEPS_EPOCH
#define NEW_EPOCH(s) skip
#else
#define NEW_EPOCH(s) \
  CHECK(ctrl[s].ep < 250, "model-epoch-bound"); ctrl[s].ep = ctrl[s].ep + 1
#endif
/* The key memo (a Worker local): slot s at epoch memo_ep[s] is bound to key memo_key[s].
 * Written after a successful update publish or promote of key k in s, and after a
 * validated match of k on a kLive word in visit() without a value copy. Process-private,
 * so writing it is folded into the step it follows. Never invalidated: an entry whose
 * epoch is not the word's does not apply. */
#define MEMO(s, key, e) memo_key[s] = key; memo_ep[s] = e
/* Ctrl::freed(): kFree, fingerprint, timed and buffer 0, bound kept. */
#define SET_FREED(s) ctrl[s].st = FREE; ctrl[s].fp = 0; ctrl[s].tmd = 0; ctrl[s].buf = 0; \
                     skey[s] = 0

/* A property check: on failure the trail replay (spin -t) prints the property's name,
 * which check.sh matches to tell a planted bug's failure from any other. */
#define CHECK(e, name) \
  if \
  :: (e) -> skip \
  :: else -> printf("PROPERTY VIOLATED: "); printf(name); printf("\n"); assert(e) \
  fi

/* Properties asserted by the operations themselves. */
#define NOT_TORN (va == vb)
#define GET_SEES_ABSTRACT_VALUE (va == snap)
#define MISS_WHILE_ABSENT (absent_seen[me] == 1)
#define RMW_READ_IS_CURRENT (absval[k] == va)
#define INSERT_OF_ABSENT_KEY (absval[k] == 0)
#define WRITE_UNNAMED_BUFFER (!NAMED(wb))
#define NAMED_WRITE "I2-write-to-named-buffer"
#define POOL_NOT_EMPTY (false)

/* release(b), keeping b as the spare (P3): only in a step in which no slot names b any
 * more, with the spare empty. Process-local: folded into the step it follows. */
#define KEEP(b) \
  CHECK(!NAMED(b), "P3-spare-still-named"); \
  CHECK(!onfree[b] && !spared[b], "P1-double-free"); \
  spare = b + 1; spared[b] = 1
/* release(b) after the CAS that unpublished b: kept = 1 if b is now the spare, else the
 * caller pushes it. */
#define RELEASE(b) if :: spare == 0 -> KEEP(b); kept = 1 :: else -> kept = 0 fi

/* The erase linearization point makes k absent: every find() of k in flight has now seen
 * it absent (its miss may linearize here). */
inline mark_absent(key) {
  i = 0;
  do
  :: i < NPROC -> if :: want[i] == key -> absent_seen[i] = 1 :: else fi; i++
  :: else -> i = 0; break
  od
}

/* A write of key = nv (held, deadline nd) takes effect: the abstract map holds nv, or,
 * if the record's deadline has passed already, the key is absent from here on (T2). */
#define PUT(key) \
  if \
  :: EXPIRED_BUF(held) -> absval[key] = 0; mark_absent(key) \
  :: else -> absval[key] = nv \
  fi

/* BufferPool::pop(): returns a private buffer in `got`. */
inline pop(got) {
  atomic { hv = pver; ht = ptop; hb = pbump }
  do
  :: if
     :: ht != 0 ->
        got = ht - 1;
        /* link(got) is read racily: a stale value is caught by the head CAS below */
        atomic { nt = bkey[got]; nt = (nt <= NBUF -> nt : 0); nb = hb }
     :: ht == 0 && hb < NBUF -> got = hb; nt = 0; nb = hb + 1
     :: else -> CHECK(POOL_NOT_EMPTY, "P2-pool-exhausted") /* NBUF always suffice (P2) */
     fi;
     atomic {
       CRASHPT;
       if
       :: pver == hv && ptop == ht && pbump == hb ->
          CHECK(ht == 0 || onfree[got], "P1-pop-of-a-buffer-not-free");
          onfree[got] = 0;
          pver = hv + 1; ptop = nt; pbump = nb;
          hv = 0; ht = 0; hb = 0; nt = 0; nb = 0; break
       :: else -> hv = pver; ht = ptop; hb = pbump
       fi
     }
  od
}

/* BufferPool::push(): b is reachable from no slot (I2); the link store overwrites the
 * record's first word, so a reader still copying b may see it (caught by R3). */
inline push(b) {
  atomic { hv = pver; ht = ptop; hb = pbump }
  do
  :: atomic {
       CRASHPT;
       wb = b;
       CHECK(WRITE_UNNAMED_BUFFER, "I2-write-to-named-buffer");
       CHECK(!onfree[b] && !spared[b], "P1-double-free"); /* would corrupt the list */
       bkey[b] = ht;
       wb = 0
     }
     atomic {
       CRASHPT;
       if
       :: pver == hv && ptop == ht && pbump == hb ->
          CHECK(!onfree[b], "P1-double-free");
          onfree[b] = 1;
          pver = hv + 1; ptop = b + 1; hv = 0; ht = 0; hb = 0; break
       :: else -> hv = pver; ht = ptop; hb = pbump
       fi
     }
  od
}

/* fill(): the record is written word by word while private (P1, P3). If none is held,
 * it takes the process's spare (take_spare(), folded into the first store: the spare is
 * process-local), or else pops one from the pool. The deadline `nd` (T1) is stored in
 * the key word's step. */
inline fill(key, v) {
  if
  :: held == NONE && spare == 0 -> pop(held)
  :: else
  fi;
  atomic {
    CRASHPT;
    if
    :: held == NONE -> held = spare - 1; spare = 0; spared[held] = 0 /* take_spare() */
    :: else
    fi;
    wb = held; CHECK(WRITE_UNNAMED_BUFFER, NAMED_WRITE);
    bkey[held] = key; bdl[held] = nd; wb = 0
  }
  atomic {
    CRASHPT; wb = held; CHECK(WRITE_UNNAMED_BUFFER, NAMED_WRITE);
    bva[held] = v; wb = 0
  }
  atomic {
    CRASHPT; wb = held; CHECK(WRITE_UNNAMED_BUFFER, NAMED_WRITE);
    bvb[held] = v; wb = 0
  }
}

/* visit(): one seqlock read of slot s for key k (R1-R3). found = F_NO/F_PENDING/F_LIVE/
 * F_EXPIRED, c = the validated word, dl = its record's deadline (T1: read only for a
 * timed word, in one step with the clock; 0 otherwise), xp = it has passed; with wantval and F_LIVE, va/vb = the copied value and snap =
 * the abstract value at R1, the hit's linearization point. Without wantval (set, erase,
 * and cancel_rivals' scan) a kLive word whose epoch the key memo knows may be decided
 * from the memo alone, with no read of the key word and no R3: R1 read the word
 * atomically. May, not must: the engine's memo is direct-mapped and can have lost the
 * entry (and keys over its length limit, or a handle without a memo id, never use it),
 * so the visit may also read the key word as without a memo. */
#define MEMO_KNOWS(s, key) \
  (!(wantval) && c.st == LIVE && !c.tmd && c.fp == FP(key) && memo_key[s] != 0 && \
   memo_ep[s] == c.ep)
inline visit(s, key, wantval) { /* wantval is an expression (op != OP_SET): !(wantval) */
  do
  :: atomic {
       LOAD(c, s); /* R1: load128, atomic given W1 */
       snap = absval[key]; dl = 0; xp = 0;
       if
       :: c.st == FREE || c.fp != FP(key) -> found = F_NO; break /* decided from the word */
       :: MEMO_KNOWS(s, key) ->
          found = (memo_key[s] == key -> F_LIVE : F_NO); break /* decided by the memo */
       :: c.st != FREE && c.fp == FP(key) -> skip /* R2 below (the memo's entry lost) */
       fi
     }
     atomic { ck = bkey[c.buf] } /* R2: the key word */
     /* T1, T2: a timed word's deadline (R2) and the clock (xp: expired); a hit copies the
      * value (R2), not for an expired record. One selection, so that an untimed word
      * takes the steps it took before expiry. */
     if
     :: c.tmd ->
        atomic { dl = bdl[c.buf]; xp = (ck == key && c.st == LIVE && EXPIRED_AT(dl)) }
        if
        :: ck == key && c.st == LIVE && wantval && !xp ->
           atomic { va = bva[c.buf] }
           atomic { vb = bvb[c.buf] }
        :: else
        fi
     :: !c.tmd && ck == key && c.st == LIVE && wantval ->
        atomic { va = bva[c.buf] }
        atomic { vb = bvb[c.buf] }
     :: else
     fi;
     atomic {
       if
#ifdef PLANTED_SKIP_RECHECK
       :: true ->
#else
       :: ctrl[s].ver == c.ver -> /* R3: the version again */
#endif
          found = (ck != key -> F_NO : (c.st != LIVE -> F_PENDING : (xp -> F_EXPIRED : F_LIVE)));
          ck = 0;
          if
          :: (found == F_LIVE || found == F_EXPIRED) && !(wantval) -> MEMO(s, key, c.ep)
          :: else
          fi;
          break
       :: else -> ck = 0; va = 0; vb = 0; dl = 0; xp = 0 /* changed under the copy: again */
       fi
     }
  od
}

/* find(): the slot where k is live (slot, c, va/vb/snap), or slot = NONE. The key's
 * expired entry (T2) is a miss, and for a writer (`writer`) also its slot, with xp = 1:
 * the key's one live slot (I3), which it overwrites in place or reclaims. */
inline find(key, wantval, writer) {
  atomic {
    hbnd = ctrl[HOME(key)].bnd;
    want[me] = key;
    absent_seen[me] = (absval[key] == 0)
  }
  slot = HOME(key);
  d = 0;
  do
  :: d <= hbnd ->
     visit(slot, key, wantval);
     if
     :: found == F_LIVE -> break
     :: found == F_EXPIRED ->
        /* absent since its deadline: the miss linearizes at the clock read */
        CHECK(MISS_WHILE_ABSENT, "miss-while-present");
        if :: !(writer) -> slot = NONE; xp = 0 :: else fi;
        break
     :: else -> d++; slot = (slot + 1) % NSLOT
     fi
  :: else ->
     /* a miss linearizes at an instant during the call at which k was absent */
     CHECK(MISS_WHILE_ABSENT, "miss-while-present");
     slot = NONE; break
  od;
  if
  :: slot != NONE && wantval && !xp ->
     /* a hit returns one whole value, the abstract one at its R1 (get, add, c_a_s) */
     CHECK(NOT_TORN, "torn-read"); CHECK(GET_SEES_ABSTRACT_VALUE, "stale-read")
  :: else
  fi;
  d = 0; hbnd = 0; found = 0;
  atomic { want[me] = 0; absent_seen[me] = 0 }
}

/* The CAS that replaces a kLive entry (update: new buffer; erase: kFree). ok = success.
 * This is the linearization point of the write (the ghost changes here). On success,
 * release(old) is folded into the same step (RELEASE: kept = 1 if old is now the spare,
 * else the caller pushes it), except that an update with a planted bug follows the
 * engine's planted path: publish_before_write pushes old (no release), and
 * spare_keeps_live releases the buffer just published (RELEASE(held)). */
#if defined(PLANTED_PUBLISH_BEFORE_WRITE)
#define UPDATE_RELEASE kept = 0
#elif defined(PLANTED_SPARE_KEEPS_LIVE)
#define UPDATE_RELEASE RELEASE(held)
#else
#define UPDATE_RELEASE RELEASE(old)
#endif
inline publish(erasing) {
#ifdef PLANTED_CAS_AS_STORE
  /* the planted bug: compare in one step, store in another (LockFreeTable::publish) */
  atomic { ok = SAME(slot, c) }
  if
  :: ok ->
     atomic {
       CRASHPT;
       if
       :: erasing -> SET_FREED(slot); absval[k] = 0; mark_absent(k)
       :: else ->
          if :: op != OP_SET -> CHECK(RMW_READ_IS_CURRENT, "lost-update") :: else fi;
          ctrl[slot].buf = held; ctrl[slot].tmd = (nd != 0); PUT(k); MEMO(slot, k, c.ep)
       fi
     }
     atomic {
       CRASHPT; ctrl[slot].ver = c.ver + 1;
       if :: erasing -> RELEASE(old) :: else -> UPDATE_RELEASE fi
     }
  :: else
  fi
#else
  atomic {
    CRASHPT;
    if
    :: SAME(slot, c) ->
       BUMP(slot);
       if
       :: erasing -> SET_FREED(slot); absval[k] = 0; mark_absent(k); RELEASE(old)
       :: else ->
          /* add/compare_and_set: the value read is still the current one */
          if :: op != OP_SET -> CHECK(RMW_READ_IS_CURRENT, "lost-update") :: else fi;
          ctrl[slot].buf = held; ctrl[slot].tmd = (nd != 0); /* T1 */
          PUT(k); MEMO(slot, k, ctrl[slot].ep);
          UPDATE_RELEASE
       fi;
       ok = 1
    :: else -> ok = 0
    fi
  }
#endif
}

/* raise_bound(): I1, before the reservation becomes visible. */
inline raise_bound(home, dist) {
  atomic { LOAD(h, home) }
  do
  :: h.bnd < dist ->
     atomic {
       CRASHPT;
       if
       :: SAME(home, h) -> BUMP(home); ctrl[home].bnd = dist; break
       :: else -> LOAD(h, home)
       fi
     }
  :: else -> break
  od;
  ZERO(h)
}

/* cancel_rivals(): I3's scan after our reservation at `mine_slot`. live = 1 if k is
 * live elsewhere (we must withdraw); else every rival reservation of k is cancelled. */
inline cancel_rivals(key, mine_slot) {
  live = 0;
#ifndef PLANTED_NO_DUP_SCAN
  atomic { sbnd = ctrl[HOME(key)].bnd } /* read after our reserving CAS */
  s2 = HOME(key);
  d2 = 0;
  do
  :: d2 <= sbnd && !live ->
     if
     :: s2 != mine_slot ->
        do
        :: visit(s2, key, 0);
           if
           :: found == F_LIVE || found == F_EXPIRED -> live = 1; break /* T2: in place */
           :: found == F_NO -> break
           :: found == F_PENDING ->
#ifdef PLANTED_WAIT_FOR_PENDING
              /* the planted design: spin until the rival's word changes */
              do
              :: atomic { ctrl[s2].ver != c.ver -> break }
              :: atomic { ctrl[s2].ver == c.ver -> skip }
              od
#else
              atomic {
                CRASHPT;
                if
                :: SAME(s2, c) -> BUMP(s2); SET_FREED(s2); break /* cancelled (I4) */
                :: else /* promoted, withdrawn or a bound raise: look again */
                fi
              }
#endif
           fi
        od
     :: else
     fi;
     d2++;
     s2 = (s2 + 1) % NSLOT
  :: else -> break
  od;
  s2 = 0; d2 = 0; sbnd = 0; found = 0
#endif
}

/* insert_new(): k is absent, `held` is filled with (k, nv). */
inline insert_new(key) {
  round = 0;
  do
  :: slot = HOME(key);
     d = 0;
     do
     :: d <= MAXDIST ->
        atomic {
          LOAD(c, slot);
          if
          :: c.st == FREE -> break
          :: else -> d++; slot = (slot + 1) % NSLOT
          fi
        }
     :: else -> break
     od;
     if
     :: d > MAXDIST -> res = R_FULL; break /* table_full: no free slot in reach */
     :: else
     fi;
     raise_bound(HOME(key), d);
     d = 0;
     /* reserve: kFree -> kPending{fp, buffer} */
     atomic {
       CRASHPT;
       if
       :: SAME(slot, c) ->
          BUMP(slot); NEW_EPOCH(slot); ctrl[slot].st = PENDING; ctrl[slot].fp = FP(key);
          ctrl[slot].tmd = (nd != 0); ctrl[slot].buf = held; skey[slot] = key; ok = 1;
          LOAD(mine, slot)
       :: else -> ok = 0 /* taken, or its bound raised: look again */
       fi
     }
     if
     :: ok ->
        cancel_rivals(key, slot);
        if
        :: live ->
           /* withdraw, unless a rival cancelled us first (I4) */
           do
           :: mine.st == PENDING && mine.buf == held ->
              atomic {
                CRASHPT;
                if
                :: SAME(slot, mine) -> BUMP(slot); SET_FREED(slot); break
                :: else -> LOAD(mine, slot)
                fi
              }
           :: else -> break
           od;
           res = R_KEYLIVE; break
        :: else
        fi;
        /* promote: only the owner does (I4), so our buffer gone means cancelled */
        do
        :: mine.st == PENDING && mine.buf == held ->
           atomic {
             CRASHPT;
             if
             :: SAME(slot, mine) ->
                CHECK(INSERT_OF_ABSENT_KEY, "insert-over-live-key");
                BUMP(slot); ctrl[slot].st = LIVE; PUT(key);
                MEMO(slot, key, ctrl[slot].ep); ok = 2; break
             :: else -> LOAD(mine, slot)
             fi
           }
        :: else -> break
        od;
        if
        :: ok == 2 -> res = R_INSERTED; break
        :: else
        fi;
        /* cancelled: back off (timing only) and start over, keeping the buffer */
        round++;
        if
        :: round >= MAXROUND -> goto cut /* bound of the model, see README */
        :: else
        fi
     :: else
     fi;
     ZERO(c)
  od;
  live = 0; round = 0; ok = 0;
  ZERO(mine)
}

/* reclaim(): frees the expired entry of slot s whose validated word is c (T2): one CAS
 * from that very word to kFree, then the buffer released (kept as the spare or pushed).
 * A word published since has a newer version, so the CAS fails and nothing is lost. The
 * planted reclaim_stale_word CASes from the word loaded again. */
inline reclaim(s) {
#ifdef PLANTED_RECLAIM_STALE_WORD
  atomic { LOAD(c, s) } /* the planted bug: not the word found expired */
#endif
  old = c.buf;
  atomic {
    CRASHPT;
    if
    :: SAME(s, c) ->
       /* the entry freed is absent already: the table's contents do not change */
       CHECK(ctrl[s].st == LIVE && EXPIRED_BUF(ctrl[s].buf), "T2-reclaim-not-expired");
       BUMP(s); SET_FREED(s); RELEASE(old); ok = 1
    :: else -> ok = 0; kept = 0 /* changed: someone else dealt with it */
    fi
  };
  if :: ok && !kept -> push(old) :: else fi;
  ok = 0; kept = 0; old = 0
}

/* purge_expired(): every slot in turn: R1, the deadline of a timed kLive word's record
 * (R2), then R3 with the clock read (LockFreeEngine::expired_entry), then reclaim(). */
inline purge() {
  s2 = 0;
  do
  :: s2 < NSLOT ->
     atomic { LOAD(c, s2) } /* R1 */
     if
     :: c.st == LIVE && c.tmd ->
        atomic { dl = bdl[c.buf] } /* R2 */
        atomic { xp = (ctrl[s2].ver == c.ver && EXPIRED_AT(dl)) } /* R3, then the clock */
        if :: xp -> reclaim(s2) :: else fi
     :: else
     fi;
     dl = 0; xp = 0; ZERO(c);
     s2++
  :: else -> break
  od;
  s2 = 0
}

/* evict(): LockFreeEngine::evict_by_hand(), each step a hand_step() (E2). s2 = the
 * hand's slot (its start any slot), d2 = steps taken. A kLive word (untimed, or judged
 * not expired) is passed (marked: E1, abstracted to a choice) or evicted by one CAS from
 * the word loaded, the linearization point of an erase by nobody; an expired one is
 * reclaimed (T2). Either way the buffer goes to the pool. The planted evict_pending takes
 * a kPending word as a victim too (the engine's judge() calls it alive). */
#ifdef PLANTED_EVICT_PENDING
#define EVICT_VICTIM(c) (c.st == LIVE || c.st == PENDING)
#else
#define EVICT_VICTIM(c) (c.st == LIVE)
#endif
inline evict() {
  if :: s2 = 0 :: s2 = 1 :: s2 = 2 fi; /* NSLOT = 3: the hand's counter, anywhere */
  d2 = 0;
  do
  :: d2 < 2 * NSLOT ->
     atomic { LOAD(c, s2) } /* hand_step: the word */
     if
     :: EVICT_VICTIM(c) ->
        ok = 1; xp = 0;
        if
        :: c.st == LIVE && c.tmd -> /* judge(): R2 the deadline, R3 with the clock */
           atomic { dl = bdl[c.buf] }
           atomic { ok = (ctrl[s2].ver == c.ver); xp = (ok && EXPIRED_AT(dl)) }
        :: else
        fi;
        if
        :: ok && !xp -> /* alive: marked (a second chance, passed) or the victim */
           if :: ok = 0 :: skip fi
        :: else
        fi;
        if
        :: ok ->
           old = c.buf;
           atomic {
             CRASHPT;
             if
             :: SAME(s2, c) -> /* E2: from the very word loaded */
                if
                :: xp -> CHECK(ctrl[s2].st == LIVE && EXPIRED_BUF(ctrl[s2].buf),
                               "T2-reclaim-not-expired")
                :: !xp && c.st == LIVE ->
                   /* the linearization point of an erase by nobody */
                   absval[skey[s2]] = 0; mark_absent(skey[s2])
                :: else /* the planted bug: a reservation, whose key is in no map */
                fi;
                BUMP(s2); SET_FREED(s2)
             :: else -> ok = 0 /* changed: written, erased or evicted meanwhile */
             fi
           };
           if :: ok -> push(old); break :: else fi /* I2; to the pool, not the spare */
        :: else
        fi
     :: else /* kFree, kPending: passed */
     fi;
     ok = 0; xp = 0; dl = 0; old = 0; ZERO(c);
     s2 = (s2 + 1) % NSLOT; d2++
  :: else -> break /* two turns and nothing freed: the insert goes on regardless */
  od;
  s2 = 0; d2 = 0; ok = 0; xp = 0; dl = 0; old = 0; ZERO(c)
}

/* mutate(): set, add, compare_and_set. */
inline mutate(key) {
  held = NONE;
  do
  :: find(key, op != OP_SET, 1);
     /* decide: the key's expired entry (xp) is absent (T2) */
     /* and the deadline of what it writes (T1): set's own; add's own if it creates the
      * key, else the entry's (its validated record's, dl), as compare_and_set keeps it */
     if
     :: op == OP_SET -> nv = arg; ok = 1; nd = arg2; dl = 0
     :: op == OP_ADD -> nv = (slot == NONE || xp -> 0 : va) + arg; ok = 1;
        nd = (slot == NONE || xp -> arg2 : dl); dl = 0
     :: op == OP_CAS -> nv = arg2; ok = (slot != NONE && !xp && va == arg); nd = dl; dl = 0
     fi;
     if
     :: !ok -> /* no write: linearized at the validated read (or the miss) */
        if :: xp -> reclaim(slot) :: else fi; /* T2: an expired entry met is freed */
        break
     :: else
     fi;
     if
     :: slot != NONE ->
        old = c.buf;
#ifdef PLANTED_PUBLISH_BEFORE_WRITE
        /* the planted bug: publish a recycled buffer, then write the record */
        if :: held == NONE -> pop(held) :: else fi;
        publish(0);
        if
        :: ok -> fill(key, nv); held = NONE; push(old); break
        :: else
        fi
#elif defined(PLANTED_SPARE_KEEPS_LIVE)
        /* the planted bug: release(buf) then push(old): the published buffer (now live
         * in the slot) became the spare if it was empty (RELEASE(held) in publish) */
        fill(key, nv);
        publish(0);
        if
        :: ok ->
           if :: !kept -> push(held) :: else fi;
           held = NONE; kept = 0; push(old); break
        :: else
        fi
#else
        fill(key, nv);
        publish(0);
        if
        :: ok -> /* I2, P3: unpublished by the CAS above, which kept it or not */
           held = NONE;
           if :: !kept -> push(old) :: else fi;
           kept = 0; break
        :: else
        fi
#endif
     :: else ->
        fill(key, nv);
        insert_new(key);
        if
        :: res == R_INSERTED -> held = NONE; break
        :: res == R_FULL -> break /* table_full: the buffer goes back below */
        :: else /* the key became live: decide again against its value */
        fi
     fi;
     ZERO(c); va = 0; vb = 0; snap = 0; xp = 0
  od;
  /* GiveBack: release(held), a buffer this operation filled but did not publish */
  if
  :: held != NONE && spare == 0 -> atomic { KEEP(held); held = NONE }
  :: held != NONE && spare != 0 -> push(held); held = NONE
  :: else
  fi
}

inline erase(key) {
  do
  :: find(key, 0, 1);
     if
     :: slot == NONE -> break
     :: xp -> reclaim(slot); break /* T2: absent already, so the erase finds nothing */
     :: else
     fi;
     old = c.buf;
     publish(1);
     if
     :: ok -> /* I2, P3: unpublished by the CAS above, which kept it or not */
        if :: !kept -> push(old) :: else fi;
        kept = 0; break
     :: else
     fi
  od
}

inline get(key) {
  find(key, 1, 0) /* its hit and miss properties are asserted in find() */
}

inline reset_locals() {
  op = 0; k = 0; arg = 0; arg2 = 0; n = 0; slot = 0; d = 0; hbnd = 0; found = 0;
  ck = 0; va = 0; vb = 0; snap = 0; nv = 0; old = 0; ok = 0; res = 0; live = 0;
  round = 0; s2 = 0; d2 = 0; sbnd = 0; hv = 0; ht = 0; hb = 0; nt = 0; nb = 0; wb = 0;
  held = 0; i = 0; kept = 0; spare = 0; dl = 0; nd = 0; xp = 0;
  MEMO(0, 0, 0); MEMO(1, 0, 0); MEMO(2, 0, 0); /* NSLOT = 3 */
  ZERO(c);
  ZERO(h);
  ZERO(mine)
}

/* A handle's process: runs two operations (op, key, arg, arg2) and detaches. */
proctype Worker(byte me; byte opA; byte kA; byte aA; byte bA; byte opB; byte kB; byte aB;
                byte bB) {
  byte op, k, arg, arg2, n, slot, d, hbnd, found, ck, va, vb, snap, nv, old, ok, res;
  byte live, round, s2, d2, sbnd, hv, ht, hb, nt, nb, wb, held, i, kept;
  byte dl, nd; /* a validated record's deadline; the deadline a write gives (T1) */
  bit xp;      /* the key's entry found has expired (T2) */
  byte spare; /* the handle's magazine: its spare buffer + 1, 0 = none (Magazine::spare) */
  byte memo_key[NSLOT]; /* the key memo: slot -> key (0 = nothing known) */
  byte memo_ep[NSLOT];  /* ... at this epoch */
  Ctrl c, h, mine;

  do
  :: n < 2 ->
     if
     :: n == 0 -> op = opA; k = kA; arg = aA; arg2 = bA
     :: else -> op = opB; k = kB; arg = aB; arg2 = bB
     fi;
     if
     :: op == OP_GET -> get(k)
     :: op == OP_SET || op == OP_ADD || op == OP_CAS -> mutate(k)
     :: op == OP_ERASE -> erase(k)
     :: op == OP_PURGE -> purge()
     :: op == OP_EVICT -> evict()
     :: op == OP_NOP -> skip
     fi;
     n++;
     slot = 0; old = 0; ok = 0; res = 0; nv = 0; va = 0; vb = 0; snap = 0;
     dl = 0; nd = 0; xp = 0;
     ZERO(c)
  :: else -> break
  od;
  /* close(): drop_magazine() takes the spare out of the magazine and pushes it */
  if
  :: spare != 0 -> atomic { old = spare - 1; spare = 0; spared[old] = 0 }; push(old)
  :: else
  fi;
  atomic { reset_locals(); attached-- };
  goto done;
cut: /* MAXROUND cancellations: end the run here, as a crash would (spare leaked too) */
  atomic {
    dead++; deadspares = deadspares + (spare != 0 -> 1 : 0); reset_locals(); attached--
  };
  goto done;
crashed: /* dead was counted by CRASHPT; the spare, if any, is leaked (P3) */
  atomic { deadspares = deadspares + (spare != 0 -> 1 : 0); reset_locals(); attached-- };
done:
  skip
}

/* Checks the whole-state invariants in every reachable state: the guard is executable
 * only in a state that breaks one, so it adds no states. init starts it last: pan tries
 * the highest process number first, so a broken invariant is reported at the step that
 * broke it rather than at some later consequence. */
proctype Monitor() {
end:
  atomic {
    !INVARIANTS ->
    CHECK(I3_NO_DUPLICATE_KEYS, "I3-duplicate-keys");
    CHECK(P1_ONE_SLOT_PER_BUFFER, "P1-buffer-in-two-slots");
    CHECK(MAP_MATCHES_SLOTS, "abstract-map-mismatch");
    CHECK(I2_RECORDS_MATCH, "I2-record-mismatch");
    CHECK(I1_BOUNDS_COVER, "I1-bound-too-small");
    CHECK(P3_SPARES_UNREACHABLE, "P3-spare-named-or-free");
    CHECK(T1_TIMED_BIT, "T1-timed-bit-mismatch")
  }
}

/* The table clock ticks from 0 to 1 (scenario expiry): every live entry whose deadline
 * is 1 is absent from this instant (T2), a linearization point for each. */
proctype Clock() {
  byte s, i;
  atomic {
    now = 1;
    do
    :: s < NSLOT ->
       if
       :: LV(s) && bdl[ctrl[s].buf] == now -> absval[skey[s]] = 0; mark_absent(skey[s])
       :: else
       fi;
       s++
    :: else -> break
    od;
    s = 0
  }
}

/* recover(): runs once every handle has detached (Segment::run_exclusive), then checks
 * that the table is clean: P1, P2, P3 (the dead processes' spares reclaimed), I1 exact,
 * no kPending left. The model's Recovery has no spare of its own to drop first. */
active proctype Recovery() {
  byte s, j, key, top, listed, free_now, leaked, cleared, dist, nspared;
  bit inslot[NBUF];
  bit onlist[NBUF];
  byte nbnd[NSLOT];
  bit seen[NKEY + 1];

  attached == 0;
  atomic {
    /* 1. free kPending slots: their inserters are gone */
    s = 0;
    do
    :: s < NSLOT ->
       if
       :: ctrl[s].st == PENDING -> BUMP(s); SET_FREED(s); cleared++
       :: else
       fi;
       s++
    :: else -> break
    od;
    /* 2-3, 5. mark the buffers named by kLive slots, count duplicates, collect bounds */
    s = 0;
    do
    :: s < NSLOT ->
       if
       :: ctrl[s].st == LIVE ->
          CHECK(ctrl[s].buf < pbump && !inslot[ctrl[s].buf], "recover-corrupt-slot");
          key = bkey[ctrl[s].buf];
          CHECK(key >= 1 && key <= NKEY && FP(key) == ctrl[s].fp, "recover-corrupt-record");
          inslot[ctrl[s].buf] = 1;
          CHECK(!seen[key], "recover-duplicate-keys");
          seen[key] = 1;
          dist = (s + NSLOT - HOME(key)) % NSLOT;
          if :: dist > nbnd[HOME(key)] -> nbnd[HOME(key)] = dist :: else fi
       :: else
       fi;
       s++
    :: else -> break
    od;
    /* the free list as it was: every entry once, none named by a slot (P1) */
    top = ptop;
    do
    :: top != 0 ->
       CHECK(top <= pbump && !onlist[top - 1] && !inslot[top - 1], "P1-free-list-corrupt");
       onlist[top - 1] = 1; listed++; top = bkey[top - 1]
    :: else -> break
    od;
    /* the dead processes' spares (every live one dropped its own at close): in no slot
     * and not on the free list (P3), so reclaimed below like any other leaked buffer */
    j = 0;
    do
    :: j < NBUF ->
       if
       :: spared[j] ->
          CHECK(j < pbump && !inslot[j] && !onlist[j], "P3-recover-spare-reachable");
          nspared++
       :: else
       fi;
       j++
    :: else -> break
    od;
    CHECK(nspared == deadspares, "P3-recover-spare-of-a-live-process");
    /* 4. rebuild the free list from every handed-out buffer no slot names */
    pver++; ptop = 0;
    j = 0;
    do
    :: j < NBUF -> onfree[j] = 0; spared[j] = 0; j++
    :: else -> break
    od;
    j = pbump;
    do
    :: j > 0 ->
       j--;
       if
       :: !inslot[j] -> bkey[j] = ptop; pver++; ptop = j + 1; onfree[j] = 1; free_now++
       :: else
       fi
    :: else -> break
    od;
    /* P2: each dead process leaked at most the one buffer its operation held, and its
     * spare (P3): at most two */
    leaked = free_now - listed;
    CHECK(leaked >= deadspares && leaked <= dead + deadspares, "P2-leak-over-bound");
    /* 5. exact bounds: lowering is fine, a raise would mean I1 was broken */
    s = 0;
    do
    :: s < NSLOT ->
       if
       :: ctrl[s].bnd != nbnd[s] ->
          CHECK(ctrl[s].bnd > nbnd[s], "I1-recover-raised-a-bound");
          BUMP(s); ctrl[s].bnd = nbnd[s]
       :: else
       fi;
       s++
    :: else -> break
    od;
    /* afterwards: no kPending, and every handed-out buffer in exactly one place */
    s = 0;
    do
    :: s < NSLOT -> CHECK(ctrl[s].st != PENDING, "recover-left-pending"); s++
    :: else -> break
    od;
    j = 0;
    do
    :: j < NBUF -> onlist[j] = 0; j++
    :: else -> break
    od;
    top = ptop;
    do
    :: top != 0 ->
       CHECK(!onlist[top - 1] && !inslot[top - 1], "recover-free-list-corrupt");
       onlist[top - 1] = 1; top = bkey[top - 1]
    :: else -> break
    od;
    j = 0;
    do
    :: j < pbump -> CHECK(onlist[j] != inslot[j], "recover-buffer-lost"); j++
    :: else -> break
    od
  }
}

init {
  atomic {
#ifdef PRELOAD_K1
    /* K1 = 10, live at its home slot 0 in buffer 0, epoch 1 */
    ctrl[0].ver = 1; ctrl[0].ep = 1; ctrl[0].st = LIVE; ctrl[0].fp = FP(K1);
    ctrl[0].buf = 0; skey[0] = K1;
    bkey[0] = K1; bva[0] = 10; bvb[0] = 10; pbump = 1; absval[K1] = 10;
#ifdef PRELOAD_K1_DEADLINE
    bdl[0] = PRELOAD_K1_DEADLINE; ctrl[0].tmd = 1; /* T1 */
#endif
#endif
#ifdef PRELOAD_K2
    /* K2 = 30, live at slot 1 (its home 0 is taken) in buffer 1, epoch 1, bound(0) = 1 */
    ctrl[0].ver = ctrl[0].ver + 1; ctrl[0].bnd = 1;
    ctrl[1].ver = 1; ctrl[1].ep = 1; ctrl[1].st = LIVE; ctrl[1].fp = FP(K2);
    ctrl[1].buf = 1; skey[1] = K2;
    bkey[1] = K2; bva[1] = 30; bvb[1] = 30; pbump = 2; absval[K2] = 30;
#endif
    run Worker(0, SCRIPT0);
#if NPROC > 1
    run Worker(1, SCRIPT1);
#endif
#if NPROC > 2
    run Worker(2, SCRIPT2);
#endif
#ifdef HAS_CLOCK
    run Clock();
#endif
    run Monitor()
  }
}
