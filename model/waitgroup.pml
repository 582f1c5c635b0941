/*
 * waitgroup.pml -- Promela model of the shared-group protocol that lib/ runs:
 * Go's sync.WaitGroup over a packed state word (lib/state.ts, lib/cell.ts,
 * lib/waitgroup.ts) and an Int32 token word (lib/atomics-semaphore.ts),
 * with aborted and timed-out waits, the per-agent keep-alive
 * (lib/keep-alive.ts), and multiplexed async waiters: one parked
 * Atomics.waitAsync per agent and group, that agent's waiters queued locally.
 * Step names (A1, W5, X3, M1, ...) are those of model/README.md.
 *
 * Shared memory (one group):
 *   cnt, wt   the 64-bit state word: counter and registered waiters. Both
 *             halves are read or written together, in one atomic block that
 *             stands for one Atomics.load or one Atomics.compareExchange.
 *   tokens    the Int32 semaphore word.
 *   wl        the engine's wait list of the token word: FIFO, shared by
 *             Atomics.wait and Atomics.waitAsync, woken by Atomics.notify.
 *             An entry is an agent's multiplexer (id = agent) or one blocking
 *             waiter (id = NA + k).
 *
 * Every atomic { } block is ONE Atomics operation of the real code (load,
 * CAS, add, wait-check-and-enqueue, notify); nothing else is atomic, except
 * bookkeeping private to one agent (its local queue, its flags, the
 * keep-alive) folded into the neighbouring step, and ghost variables (g_*),
 * which exist only to state properties.
 *
 * An async agent (proctype Agent) is one thread's event loop: it runs one
 * task at a time to completion (start a wait, an abort listener, the
 * waitAsync callback), while every other agent interleaves step by step.
 *
 * Build-time switches (spin -DNAME=value):
 *   NDOER        agents that own one unit of the counter each and call done()
 *   NA           async agents (0..2); agent 0 has NLW local waiters (1..3),
 *                agent 1 has NLW1 (default NLW)
 *   ABORTS       bit a*3+s set: waiter s of agent a has a signal (may abort)
 *   NSW          stand-alone blocking waiters (0..2); SWKIND0/1 their kinds
 *   SYNCA0       agent 0 also calls waitSync (kind SAKIND) while its async
 *                waits are pending: a blocking wait on a thread with a
 *                parked multiplexer
 *   NGEN         generations (1 or 2); every waiter waits NGEN times
 *   SITERS       waits per blocking waiter (default NGEN)
 *   EXTRA_ADD    each doer also does add(1); done() while holding its unit
 *   EXTRA_DONE   extra done() calls with no matching add (refused)
 *   SMALLMAX     the counter limit equals NDOER (EXTRA_ADD overflows)
 *   HAZARD       the next generation starts when the counter is 0, not when
 *                every earlier wait has returned (Go's rule broken)
 *   STRICT_C     assert no early wake (a token taken, a wait resolved, only
 *                after its generation's counter reached 0)
 *   GHOST_D      assert an abort removes its own generation's registration
 *   POLL         no waitAsync: the multiplexer re-checks on a timer (S15)
 *   REL_ALL      release with notify(+Infinity);  REL_LOOP: Go's loop
 *   Wrong variants (each must give a counterexample):
 *   NOTIFY_FIRST  notify before adding the tokens
 *   PARK_NOCHECK  park without the expected-value check
 *   ABORT_V=1     abort by a blind Atomics.sub on the word
 *   ABORT_V=2     abort rejects at once even when already released
 *   ABORT_V=5     abort guard "word != 0" instead of "c > 0 and w > 0"
 *   MUX_FLUSH=0   an abort that empties the local queue does not notify
 *   MUX_FLUSH=1   flush on every abort (correct, only slower; default 2:
 *                 flush only when the queue became empty)
 *   MUX_ONE       the multiplexer takes one token per wake-up
 *   MUX_SINGLE    one token per CAS (correct too; default: all it needs)
 *   LIVE          add the LTL property "every agent finishes" (pan -a -f)
 */

#ifndef NDOER
#define NDOER 2
#endif
#ifndef NA
#define NA 1
#endif
#ifndef NLW
#define NLW 2
#endif
#ifndef NLW1
#define NLW1 NLW
#endif
#ifndef ABORTS
#define ABORTS 1
#endif
#ifndef NSW
#define NSW 0
#endif
#ifndef NGEN
#define NGEN 1
#endif
#ifndef SITERS
#define SITERS NGEN
#endif
#ifndef EXTRA_DONE
#define EXTRA_DONE 0
#endif
#ifndef ABORT_V
#define ABORT_V 4
#endif
#ifndef MUX_FLUSH
#define MUX_FLUSH 2
#endif
#ifndef STRICT_C
#define STRICT_C 1
#endif
#ifndef GHOST_D
#define GHOST_D 1
#endif
#ifndef SYNCA0
#define SYNCA0 0
#endif

#define K_SYNC         2   /* waitSync()                 Atomics.wait      */
#define K_SYNC_TIMEOUT 3   /* waitSync({ timeout })      may time out      */
#ifndef SWKIND0
#define SWKIND0 K_SYNC_TIMEOUT
#endif
#ifndef SWKIND1
#define SWKIND1 K_SYNC
#endif
#ifndef SAKIND
#define SAKIND K_SYNC_TIMEOUT
#endif

#ifdef SMALLMAX
#define MAXC NDOER
#else
#define MAXC (NDOER + NDOER + 1)    /* stands for 2^31 - 1 */
#endif

#define MAXLW  3                    /* local waiter slots per agent */
#define NWT    (NA * MAXLW + 1)     /* async waiter ids: a * MAXLW + s */
#define NENT   (NA + NSW + 1)       /* engine entry ids */
#define SAENT  (NA + NSW)           /* the entry of agent 0's waitSync */
#define NPROC  (1 + NDOER + EXTRA_DONE + NA + NSW)
#define ALL    255                  /* notify count +Infinity */

#define IDLE   0
#define QUEUED 1

#define R_OK     0
#define R_NEG    1
#define R_OVF    2
#define R_MISUSE 3

/* ---------------- shared memory ---------------- */
byte cnt = NDOER;          /* add(NDOER) happened before anyone started */
byte wt  = 0;
byte tokens = 0;
chan wl = [NENT] of { byte };
bool woke[NENT];           /* set by notify when it dequeues the entry */

/* ---------------- per-agent private state ---------------- */
chan lq[3] = [MAXLW] of { byte };   /* NA <= 2 */  /* the multiplexer's local FIFO */
bool parked[3];       /* its waitAsync is pending (or its timer, POLL) */
bool kaRef[3];        /* keep-alive held: the local queue is not empty */
byte wst[NWT];             /* IDLE or QUEUED (registered, no token yet) */
byte wit[NWT];             /* waits made so far */
bool wab[NWT];             /* this wait may still be aborted */
byte wep[NWT];             /* ghost: g_epoch when it registered */

/* ---------------- ghosts ---------------- */
byte g_epoch = 0;          /* how many times the counter reached 0 */
byte g_busy = 0;           /* registered waits not yet settled */
bool g_violated = false;   /* Go's rule broken */
byte g_issued = 0, g_consumed = 0;
byte g_finished = 0;
byte g_started = 1;
byte g_doneGen[NGEN + 1];
byte g_reused = 0, g_misuse = 0, g_neg = 0, g_ovf = 0;

/* Atomics.notify(sema, n): wake up to n queued entries, oldest first */
inline notify(n)
{
  atomic {
    k2 = 0;
    do
    :: k2 < n && len(wl) > 0 -> wl?j; woke[j] = true; k2++
    :: else -> break
    od;
    k2 = 0; j = 0
  }
}

/* R1, R2: issue n tokens, then wake n entries */
inline release(n)
{
#ifdef REL_LOOP
  k = n;
  do
  :: k > 0 -> atomic { tokens++ }; notify(1); k--
  :: else -> break
  od
#else
#ifdef NOTIFY_FIRST
  notify(n);
  atomic { tokens = tokens + n };
#else
  atomic { tokens = tokens + n };
#ifdef REL_ALL
  notify(ALL);
#else
  notify(n);
#endif
#endif
#endif
}

/* A1-A7: add(delta), a CAS loop; a refused add writes nothing */
inline add(delta, res)
{
  do
  :: atomic { c = cnt; w = wt };                        /* A1 */
     if
     :: c + delta < 0    -> res = R_NEG; break          /* A2 */
     :: c + delta > MAXC -> res = R_OVF; break          /* A3 */
     :: delta > 0 && c == 0 && w > 0 -> res = R_MISUSE; break   /* A4 */
     :: else ->
        if
        :: c + delta > 0 || w == 0 ->
           atomic {                                     /* A5 */
             if
             :: cnt == c && wt == w ->
                cnt = c + delta; ok = true;
                if :: c > 0 && cnt == 0 -> g_epoch++ :: else -> skip fi;
                if :: delta > 0 && c == 0 && g_busy > 0 -> g_violated = true :: else -> skip fi
             :: else -> ok = false
             fi
           };
           if :: ok -> res = R_OK; break :: else -> skip fi
        :: else ->
           atomic {                                     /* A6 */
             if
             :: cnt == c && wt == w ->
                cnt = 0; wt = 0; ok = true; g_epoch++; g_issued = g_issued + w
             :: else -> ok = false
             fi
           };
           if :: ok -> release(w); res = R_OK; break    /* A7 */
           :: else -> skip
           fi
        fi
     fi
  od;
  atomic {
    if :: res == R_MISUSE -> assert(g_violated); g_misuse++ :: else -> skip fi;
    c = 0; w = 0; ok = false; k = 0
  }
}

/* W1-W3: register unless the counter is 0; reg tells which */
inline register(ep)
{
  reg = false;
  do
  :: atomic { c = cnt; w = wt };                        /* W1 */
     if
     :: c == 0 -> break                                 /* W2 */
     :: else ->
        atomic {                                        /* W3 */
          if
          :: cnt == c && wt == w -> wt++; reg = true; g_busy++; ep = g_epoch
          :: else -> skip
          fi
        };
        if :: reg -> break :: else -> skip fi
     fi
  od;
  c = 0; w = 0
}

/* X1, X2: withdraw the registration; ok tells whether it did */
inline withdraw(ep)
{
#if ABORT_V == 1
  atomic { assert(wt > 0); wt--; ok = true };
#else
  do
  :: atomic { c = cnt; w = wt };                        /* X1 */
     if
#if ABORT_V == 5
     :: c != 0 || w != 0 ->
#else
     :: c > 0 && w > 0 ->                               /* X2 */
#endif
        atomic {
          if
          :: cnt == c && wt == w ->
             assert(wt > 0); wt--; ok = true;
#if GHOST_D
             assert(g_epoch == ep)                      /* (d) its own registration */
#endif
          :: else -> ok = false
          fi
        };
        if :: ok -> break :: else -> skip fi
     :: else -> ok = false; break                       /* released: X6 */
     fi
  od;
#endif
  c = 0; w = 0
}

/* W9, W11: the resumed waiter's reuse check (S8) */
inline resumed(ep)
{
  atomic {
    if
    :: cnt != 0 || wt != 0 -> assert(g_violated); g_reused++   /* (e) */
    :: else ->
#if STRICT_C
       assert(g_epoch > ep)                             /* (c) */
#else
       skip
#endif
    fi
  }
}

/* waitSync(): W1-W11 with Atomics.wait, and its timeout (X1, X2, X6) */
inline waitSync(e, cantime, ep)
{
  register(ep);
  if
  :: reg ->
     ta = cantime;
     got = false;
     do
     :: got -> break
     :: else ->
        atomic { t = tokens };                          /* W5 */
        if
        :: t > 0 ->
           atomic {                                     /* W6 */
             if
             :: tokens == t -> tokens--; got = true; g_consumed++;
#if STRICT_C
                assert(g_epoch > ep)
#endif
             :: else -> skip
             fi
           }
        :: else ->
           if
           :: atomic {                                  /* W7: Atomics.wait(sema, t) */
#ifdef PARK_NOCHECK
                woke[e] = false; wl!e; inl = true
#else
                if
                :: tokens == t -> woke[e] = false; wl!e; inl = true
                :: else -> skip
                fi
#endif
              }
           :: ta -> tout = true                         /* no time left: no wait */
           fi;
           if
           :: inl ->
              if
              :: atomic { woke[e] -> woke[e] = false; inl = false }      /* "ok" */
              :: atomic { ta && wl??[eval(e)] -> wl??eval(e); inl = false; tout = true }  /* "timed-out" */
              fi
           :: else -> skip
           fi;
           if
           :: tout ->
              tout = false; ta = false;
              withdraw(ep);
              if
              :: ok -> atomic { ok = false; g_busy--; reg = false }; break   /* TimeoutError */
              :: else -> skip                           /* X6: wait on, no timeout */
              fi
           :: else -> skip
           fi
        fi
     od;
     if
     :: got -> resumed(ep); atomic { g_busy--; got = false }
     :: else -> skip
     fi
  :: else -> skip
  fi;
  atomic { t = 0; ep = 0; reg = false; ta = false; tout = false; inl = false; ok = false }
}

/* ------------------------------------------------------------------ */
proctype Doer(byte i)
{
  byte g, c, w, k, k2, j, res;
  bool ok;
  for (g : 1 .. NGEN) {
    (g_started >= g);
#ifdef EXTRA_ADD
    add(1, res);
    if
    :: res == R_OK -> add(-1, res); assert(res == R_OK)
    :: res == R_OVF -> atomic { g_ovf++; assert(cnt <= MAXC) }
    fi;
#endif
    add(-1, res);
    if
    :: res == R_OK -> skip
    :: res == R_NEG && EXTRA_DONE > 0 -> atomic { g_neg++ }
    fi;
    atomic { g_doneGen[g]++ }
  }
  atomic { g_finished++ }
}

proctype ExtraDone()
{
  byte c, w, k, k2, j, res;
  bool ok;
  add(-1, res);
  if
  :: res == R_NEG -> atomic { g_neg++ }
  :: res == R_OK  -> skip
  fi;
  atomic { g_finished++ }
}

/* starts generations 2..NGEN with add(NDOER) */
proctype Main()
{
  byte g, c, w, k, k2, j, res;
  bool ok;
  g = 2;
  do
  :: g > NGEN -> break
  :: else ->
#ifdef HAZARD
    (g_doneGen[g - 1] == NDOER);
#else
    (g_doneGen[g - 1] == NDOER && g_busy == 0);
#endif
    add(NDOER, res);
    assert(res == R_OK);
    g_started = g;
    g++
  od;
  atomic { g_finished++ }
}

proctype SyncWaiter(byte e; byte kind)
{
  byte it, c, w, t, ep, k2, j;
  bool ok, reg, got, inl, ta, tout;
  for (it : 1 .. SITERS) {
    if
    :: kind == K_SYNC_TIMEOUT -> waitSync(e, true, ep)   /* may or may not time out */
    :: kind == K_SYNC -> waitSync(e, false, ep)
    fi
  }
  atomic { g_finished++ }
}

/* ------------------------------------------------------------------ */
/* M1-M5: the multiplexer's pump, run by the task that needs it: take
 * tokens for the local waiters, oldest first, as many as are there and
 * needed in one CAS, until none is left or the token word is 0; then park
 * one waitAsync (expected value: what was read). */
inline pump()
{
  do
  :: len(lq[a]) == 0 -> break                           /* M1 */
  :: else ->
     atomic { t = tokens };                             /* M2 (W5) */
     if
     :: t > 0 ->
        atomic {                                        /* M3 (W6): cas(sema, t, t - k) */
          if
          :: tokens == t ->
#if defined(MUX_SINGLE) || defined(MUX_ONE)
             k = 1;
#else
             k = (t < len(lq[a]) -> t : len(lq[a]));
#endif
             tokens = tokens - k; g_consumed = g_consumed + k;
             n = 0;
             do
             :: n < k -> lq[a]?hs[n]; wst[hs[n]] = IDLE;
#if STRICT_C
                assert(g_epoch > wep[hs[n]]);           /* (c) no early wake */
#endif
                n++
             :: else -> break
             od;
             if :: len(lq[a]) == 0 -> kaRef[a] = false :: else -> skip fi;
             ok = true
          :: else -> ok = false
          fi
        };
        if
        :: ok ->
           n = 0;
           do                                           /* M4 (W9-W11), oldest first */
           :: n < k -> resumed(wep[hs[n]]); atomic { g_busy--; wep[hs[n]] = 0; hs[n] = 0; n++ }
           :: else -> break
           od;
           atomic { k = 0; n = 0; ok = false };
#ifdef MUX_ONE
           break
#else
           skip
#endif
        :: else -> skip
        fi
     :: else ->
#ifdef POLL
        atomic { parked[a] = true; assert(kaRef[a]) };   /* M5: setTimeout */
        break
#else
        atomic {                                        /* M5 (W7): waitAsync(sema, t) */
#ifdef PARK_NOCHECK
          woke[a] = false; wl!a; parked[a] = true
#else
          if
          :: tokens == t -> woke[a] = false; wl!a; parked[a] = true; assert(kaRef[a])
          :: else -> skip                               /* "not-equal": look again */
          fi
#endif
        };
        if :: parked[a] -> break :: else -> skip fi
#endif
     fi
  od;
  t = 0
}

proctype Agent(byte a)
{
  byte i, c, w, t, k, n, k2, j, sep;
  byte hs[MAXLW];
  bool ok, reg, got, inl, ta, tout;
  byte sit = 0;
  byte nlw = (a == 0 -> NLW : NLW1);
  do
  /* ---- task: wait() on an idle slot (W1-W3, then M0: queue locally) ---- */
  :: atomic {
       if
       :: wst[a * MAXLW] == IDLE && wit[a * MAXLW] < NGEN -> i = a * MAXLW
       :: nlw > 1 && wst[a * MAXLW + 1] == IDLE && wit[a * MAXLW + 1] < NGEN -> i = a * MAXLW + 1
       :: nlw > 2 && wst[a * MAXLW + 2] == IDLE && wit[a * MAXLW + 2] < NGEN -> i = a * MAXLW + 2
       fi;
       wit[i]++;
       if
       :: (ABORTS >> i) & 1 -> wab[i] = true
       :: true -> wab[i] = false
       fi
     };
     register(wep[i]);
     if
     :: reg ->
        atomic { wst[i] = QUEUED; lq[a]!i; kaRef[a] = true };   /* M0 */
        if :: !parked[a] -> pump() :: else -> skip fi   /* the parked one serves it */
     :: else -> wab[i] = false                          /* resolved at once (S7) */
     fi;
     atomic { i = 0; reg = false }
  /* ---- task: the abort listener of a queued wait (X1-X6, M7) ---- */
  :: atomic {
       if
       :: wst[a * MAXLW] == QUEUED && wab[a * MAXLW] -> i = a * MAXLW
       :: nlw > 1 && wst[a * MAXLW + 1] == QUEUED && wab[a * MAXLW + 1] -> i = a * MAXLW + 1
       :: nlw > 2 && wst[a * MAXLW + 2] == QUEUED && wab[a * MAXLW + 2] -> i = a * MAXLW + 2
       fi;
       wab[i] = false
     };
#if ABORT_V == 2
     withdraw(wep[i]); ok = true;
#else
     withdraw(wep[i]);
#endif
     if
     :: ok ->                                           /* deregistered: reject */
        atomic {
          lq[a]??eval(i); wst[i] = IDLE; g_busy--; wep[i] = 0; ok = false;
          if :: len(lq[a]) == 0 -> kaRef[a] = false :: else -> skip fi
        };
#ifdef POLL
        if :: len(lq[a]) == 0 && parked[a] -> parked[a] = false :: else -> skip fi  /* clearTimeout */
#else
#if MUX_FLUSH == 2
        if :: len(lq[a]) == 0 && parked[a] -> notify(ALL) :: else -> skip fi   /* M7 */
#elif MUX_FLUSH == 1
        if :: parked[a] -> notify(ALL) :: else -> skip fi
#else
        skip
#endif
#endif
     :: else -> skip                                    /* X6: the pump gives it its token */
     fi;
     i = 0
  /* ---- task: the waitAsync callback (or the poll timer) ---- */
#ifdef POLL
  :: atomic { parked[a] -> parked[a] = false };
#else
  :: atomic { woke[a] -> woke[a] = false; parked[a] = false };   /* M6 */
#endif
     pump()
#if SYNCA0
  /* ---- task: agent 0 calls waitSync(), blocking its event loop ---- */
  :: a == 0 && sit < SITERS ->
     sit++;
     waitSync(SAENT, SAKIND == K_SYNC_TIMEOUT, sep)
#endif
  /* ---- every wait settled, nothing parked: the agent is done ---- */
  :: atomic {
       wst[a * MAXLW] == IDLE && wit[a * MAXLW] == NGEN &&
       (nlw < 2 || (wst[a * MAXLW + 1] == IDLE && wit[a * MAXLW + 1] == NGEN)) &&
       (nlw < 3 || (wst[a * MAXLW + 2] == IDLE && wit[a * MAXLW + 2] == NGEN)) &&
       (!SYNCA0 || a != 0 || sit == SITERS) &&
       !parked[a] -> g_finished++
     };
     break
  od
}

init
{
  byte i;
  atomic {
    run Main();
    for (i : 0 .. NDOER - 1) { run Doer(i) }
#if EXTRA_DONE > 0
    for (i : 1 .. EXTRA_DONE) { run ExtraDone() }
#endif
#if NA > 0
    for (i : 0 .. NA - 1) { run Agent(i) }
#endif
#if NSW > 0
    run SyncWaiter(NA, SWKIND0);
#endif
#if NSW > 1
    run SyncWaiter(NA + 1, SWKIND1);
#endif
  }
  (g_finished == NPROC);
  /* (b) nothing left over once every agent has finished */
  assert(cnt == 0 && wt == 0);
  assert(tokens == 0);                 /* no leaked token */
  assert(g_issued == g_consumed);
  assert(len(wl) == 0);                /* no waitAsync left queued (S9) */
  assert(g_busy == 0);
  assert(!kaRef[0] && !kaRef[1] && len(lq[0]) == 0 && len(lq[1]) == 0);   /* S16 */
  assert(g_neg == EXTRA_DONE);
  assert(g_misuse == 0);               /* (c == 0, w > 0) never exists */
#ifndef HAZARD
  assert(!g_violated && g_reused == 0)   /* (e) */
#endif
}

#ifdef LIVE
ltl live { <> (g_finished == NPROC) }
#endif
