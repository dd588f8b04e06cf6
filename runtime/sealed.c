/* sealed.c — a sealed in-memory copy of our own binary.

   CVE-2019-5736: a process in a container could open /proc/PID/exe of a
   runtime process it can see (or make the kernel run the runtime's binary
   as its own, with `#!/proc/self/exe`) and, once that binary is no longer
   busy, write through the link into the host's binary. So nothing that
   starts or enters a container runs from the host's file: the processes
   that do (the supervisor, `stack exec`) re-execute themselves from a
   memfd copy whose seals forbid any write first (rt_reexec_sealed), and
   every child they make for a container — and our init — is that copy;
   /proc/PID/exe leads nowhere on the host and cannot be changed (runc's
   "cloned binary"). One copy per `up` or `exec`, not per container. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime-internal.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define MEMFD_NAME "stack"

/* Are we running from our sealed copy already? Its exe link reads
   "/memfd:stack (deleted)". */
static bool
running_sealed (void)
{
  char link[64];
  ssize_t n = readlink ("/proc/self/exe", link, sizeof link - 1);

  if (n < 0)
    return false;
  link[n] = '\0';
  return str_has_prefix (link, "/memfd:" MEMFD_NAME " (");
}

int
rt_sealed_self (stack_error_t **err)
{
  cleanup_close int self = -1;
  cleanup_close int fd = -1;
  struct stat st;
  off_t off = 0;
  int seals;

  self = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return stack_error_make (err, errno, "open `/proc/self/exe`");
  /* the sealed copy itself: no need for another */
  if (running_sealed ())
    return steal_fd (&self);
  if (fstat (self, &st) < 0)
    return stack_error_make (err, errno, "stat `/proc/self/exe`");

  /* Kernels ≥ 6.3 with vm.memfd_noexec=1 make a memfd non-executable
     unless MFD_EXEC is asked; older kernels reject the unknown flag. */
  fd = memfd_create (MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create (MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return stack_error_make (err, errno, "memfd_create `" MEMFD_NAME "`");

  while (off < st.st_size)
    {
      ssize_t n = sendfile (fd, self, &off, (size_t)(st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return stack_error_make (err, errno, "copy `/proc/self/exe` into a memfd");
      if (n == 0)
        return stack_error_make (err, EIO, "copy `/proc/self/exe` into a memfd: short read");
    }

  seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl (fd, F_ADD_SEALS, seals | F_SEAL_FUTURE_WRITE) < 0
      && fcntl (fd, F_ADD_SEALS, seals) < 0)
    return stack_error_make (err, errno, "seal the memfd copy of `/proc/self/exe`");
  return steal_fd (&fd);
}

int
rt_reexec_sealed (char **argv, stack_error_t **err)
{
  extern char **environ;
  cleanup_close int fd = -1;

  if (running_sealed ())
    return 0;
  if ((fd = rt_sealed_self (err)) < 0)
    return stack_error_wrap (err, "run from a sealed copy");
  fexecve (fd, argv, environ);
  return stack_error_make (err, errno, "run from a sealed copy: exec");
}
