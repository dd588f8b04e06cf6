/* init.c — our tiny init, the container's PID 1 when the spec asks for one
   (`init: true`), in the manner of tini / docker-init: it forwards signals
   to the container's program, reaps every orphan that the kernel re-parents
   to it, and exits with the program's status.

   It runs from a sealed memfd copy of our binary (sealed.c) and is entered
   from main() before anything else, when argv[0] is "stack-init"; so it uses
   nothing but libc and the kernel. spawn.c forks the program's process
   before executing us and passes its pid as argv[1]; we are executed
   while the host's root is still our root, so the dynamic loader finds our
   libraries, and we say so on the pipe argv[2]; only then does the
   program's process pivot the shared mount namespace, which moves our root
   and cwd into the container as well. */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"

/* Signals the kernel raises for our own faults stay deliverable; every
   other one is taken with sigtimedwait and forwarded. */
static const int synchronous[] = { SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGSYS, SIGTRAP };

static void
init_sigset (sigset_t *set)
{
  size_t i;

  sigfillset (set);
  for (i = 0; i < ARRAY_SIZE (synchronous); i++)
    sigdelset (set, synchronous[i]);
}

/* Keep only CAP_KILL: we must be able to signal a program that changed its
   uid, and nothing else. We are visible to the container's processes, so
   we hold less than they do and cannot be a stepping stone: no other
   capability, no new privileges, and not dumpable (no ptrace, no
   /proc/1/mem or /proc/1/map_files for them). */
static void
drop_privileges (void)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  int cap;

  for (cap = 0; cap < 64; cap++)
    if (cap != CAP_KILL && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
      break;
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  memset (data, 0, sizeof data);
  data[0].effective = data[0].permitted = 1U << CAP_KILL;
  (void) !syscall (SYS_capset, &hdr, data);
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Reap whatever is dead; true once `child` is among it. */
static bool
reap (pid_t child, int *status)
{
  bool done = false;
  pid_t pid;
  int st;

  while ((pid = waitpid (-1, &st, WNOHANG)) > 0)
    if (pid == child)
      {
        *status = st;
        done = true;
      }
  return done;
}

int
rt_init_main (int argc, char **argv)
{
  sigset_t set;
  siginfo_t info;
  pid_t child;
  int status = 0, loaded;
  char *end;
  long v;

  if (argc != 3)
    {
      fprintf (stderr, "stack-init: usage: stack-init PID FD\n");
      _exit (127);
    }
  errno = 0;
  v = strtol (argv[1], &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0)
    {
      fprintf (stderr, "stack-init: bad pid `%s`\n", argv[1]);
      _exit (127);
    }
  child = (pid_t) v;
  /* We are loaded: our child may now pivot into the container's root. */
  loaded = atoi (argv[2]);
  if (write (loaded, "", 1) != 1)
    _exit (127);
  close (loaded);

  /* spawn.c blocked the same set before it executed us, so nothing that
     arrived in between is lost. */
  init_sigset (&set);
  sigprocmask (SIG_BLOCK, &set, NULL);
  drop_privileges ();

  /* The program may have died before we were ready. */
  if (reap (child, &status))
    goto out;
  for (;;)
    {
      int sig = sigwaitinfo (&set, &info);
      if (sig < 0)
        continue; /* EINTR */
      if (sig == SIGCHLD)
        {
          if (reap (child, &status))
            break;
          continue;
        }
      /* ESRCH: the program is gone and its SIGCHLD is on its way. */
      kill (child, sig);
    }

out:
  /* Orphans that died with the program; the kernel kills the rest when we
     leave, since we are the namespace's init. */
  reap (child, &status);
  /* _exit: no atexit handler of the host program runs in here. */
  if (WIFEXITED (status))
    _exit (WEXITSTATUS (status));
  _exit (128 + WTERMSIG (status));
}
