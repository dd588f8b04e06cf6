/* sealed.c — a sealed in-memory copy of our own binary, to run as a
   container's init.

   CVE-2019-5736: a process in the container could open /proc/1/exe and,
   once the runtime's binary is no longer busy, write through it into the
   host's binary. Our init never runs from the host's file: it runs from a
   memfd copy whose seals forbid any write, so /proc/1/exe leads nowhere on
   the host and cannot be changed (runc's "cloned binary"). */
#include <errno.h>
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
  if (fstat (self, &st) < 0)
    return stack_error_make (err, errno, "stat `/proc/self/exe`");

  /* Kernels ≥ 6.3 with vm.memfd_noexec=1 make a memfd non-executable
     unless MFD_EXEC is asked; older kernels reject the unknown flag. */
  fd = memfd_create ("stack-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create ("stack-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return stack_error_make (err, errno, "memfd_create `stack-init`");

  while (off < st.st_size)
    {
      ssize_t n = sendfile (fd, self, &off, (size_t) (st.st_size - off));
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
