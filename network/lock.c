/* lock.c — the one host-wide lock of network/: held while a project picks
   subnets, creates bridges or changes the shared table and ip_forward.

   An abstract unix socket name (`@stack-network`) is the lock: binding it
   succeeds for exactly one socket at a time, nothing is left on disk, and
   the kernel releases it when the holder's fd closes — also when the
   holder is SIGKILLed, which a lock file with flock would survive only
   with care and a pid file not at all. Abstract names live in the network
   namespace, which is right: what the lock guards (links, the table,
   ip_forward) is per network namespace too. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "network.h"

#define LOCK_NAME "stack-network"
#define LOCK_RETRY_MS 10
#define LOCK_TIMEOUT_S 30

int
net_lock (stack_error_t **err)
{
  cleanup_close int fd = -1;
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  /* abstract: sun_path[0] is NUL and the name is not NUL-terminated; the
     length says where it ends */
  socklen_t len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + 1 + strlen (LOCK_NAME));
  int64_t deadline = mono_ns () + LOCK_TIMEOUT_S * 1000000000LL;
  int ret;

  memcpy (sun.sun_path + 1, LOCK_NAME, strlen (LOCK_NAME));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return stack_error_make (err, errno, "network lock: socket");

  for (;;)
    {
      ret = bind (fd, (struct sockaddr *)&sun, len);
      if (ret == 0)
        return steal_fd (&fd);
      if (errno != EADDRINUSE)
        return stack_error_make (err, errno, "network lock: bind `@%s`", LOCK_NAME);
      if (mono_ns () >= deadline)
        return stack_error_set (err, ETIMEDOUT,
                                "another stack is changing the network: timed out after %d s",
                                LOCK_TIMEOUT_S);
      usleep (LOCK_RETRY_MS * 1000);
    }
}

void
net_unlock (int fd)
{
  if (fd >= 0)
    close (fd);
}
