/* tty.c — `stack exec` with a terminal: our stdin and stdout on one side,
   the container's pty master on the other (see tty-internal.h).

   One poll() loop, no event library: the CLI process does nothing else
   meanwhile. Signals arrive through a signalfd, so the loop sees SIGWINCH
   and the fatal ones in order with the data, and no handler ever runs in
   the middle of a write. Input goes to the master without blocking, one
   buffer at a time: a program that prints without reading its input
   cannot wedge us while we wait to write to it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "tty-internal.h"

typedef struct relay
{
  int master, sigfd;
  int term_fd;            /* ours that is a terminal (stdin, else stdout), or -1 */
  bool raw;               /* stdin put in raw mode: `saved` to restore */
  struct termios saved;
  sigset_t old_mask;
  bool mask_set;
  char in[4096];          /* read from stdin, not yet written to master */
  size_t in_len, in_off;
  bool in_eof, eof_sent;
} relay_t;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void
relay_restore (relay_t *r)
{
  if (r->raw)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &r->saved);
  r->raw = false;
  if (r->mask_set)
    sigprocmask (SIG_SETMASK, &r->old_mask, NULL);
  r->mask_set = false;
  if (r->sigfd >= 0)
    close (r->sigfd);
  r->sigfd = -1;
}

static void
pass_winsize (relay_t *r)
{
  struct winsize ws;

  if (r->term_fd >= 0 && ioctl (r->term_fd, TIOCGWINSZ, &ws) == 0)
    ioctl (r->master, TIOCSWINSZ, &ws);
}

static int
relay_setup (relay_t *r, stack_error_t **err)
{
  sigset_t set;
  size_t i;
  int flags;

  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  for (i = 0; i < ARRAY_SIZE (fatal_signals); i++)
    sigaddset (&set, fatal_signals[i]);
  if (sigprocmask (SIG_BLOCK, &set, &r->old_mask) < 0)
    return stack_error_make (err, errno, "block signals");
  r->mask_set = true;
  r->sigfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (r->sigfd < 0)
    return stack_error_make (err, errno, "signalfd");

  flags = fcntl (r->master, F_GETFL);
  if (flags < 0 || fcntl (r->master, F_SETFL, flags | O_NONBLOCK) < 0)
    return stack_error_make (err, errno, "make the pty master non-blocking");

  r->term_fd = isatty (STDIN_FILENO) ? STDIN_FILENO : isatty (STDOUT_FILENO) ? STDOUT_FILENO : -1;
  if (isatty (STDIN_FILENO))
    {
      struct termios raw;
      if (tcgetattr (STDIN_FILENO, &r->saved) < 0)
        return stack_error_make (err, errno, "read the terminal's settings");
      raw = r->saved;
      cfmakeraw (&raw);
      /* set before the change: a signal right after it still restores */
      r->raw = true;
      if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) < 0)
        return stack_error_make (err, errno, "put the terminal in raw mode");
    }
  pass_winsize (r);
  return 0;
}

/* A signal from the signalfd: the window size, or the end of us. */
static void
relay_signal (relay_t *r)
{
  struct signalfd_siginfo si;

  while (read (r->sigfd, &si, sizeof si) == (ssize_t) sizeof si)
    {
      if (si.ssi_signo == SIGWINCH)
        {
          pass_winsize (r);
          continue;
        }
      /* the terminal as it was, then the default action, as if we had
         never caught it: the shell sees us killed by that signal */
      relay_restore (r);
      signal ((int) si.ssi_signo, SIG_DFL);
      raise ((int) si.ssi_signo);
      return;
    }
}

/* Our stdin is readable or at its end. */
static int
relay_input (relay_t *r, stack_error_t **err)
{
  ssize_t n = read (STDIN_FILENO, r->in, sizeof r->in);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n > 0)
    {
      r->in_len = (size_t) n;
      r->in_off = 0;
      return 0;
    }
  if (n < 0 && errno != EIO)
    return stack_error_make (err, errno, "read stdin");
  /* the end of our input: the pty's EOF character, once, so that the
     program sees its input end too; its output is still read */
  r->in_eof = true;
  if (! r->eof_sent)
    {
      struct termios t;
      r->in[0] = tcgetattr (r->master, &t) == 0 && t.c_cc[VEOF] ? (char) t.c_cc[VEOF] : 4;
      r->in_len = 1;
      r->in_off = 0;
      r->eof_sent = true;
    }
  return 0;
}

/* Write what we hold to the master, as much as it takes now. */
static int
relay_to_master (relay_t *r, stack_error_t **err)
{
  ssize_t n = write (r->master, r->in + r->in_off, r->in_len - r->in_off);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n < 0 && errno == EIO)
    {
      /* the other side is gone: what we hold has no reader */
      r->in_len = r->in_off = 0;
      return 0;
    }
  if (n < 0)
    return stack_error_make (err, errno, "write to the terminal of the container");
  r->in_off += (size_t) n;
  if (r->in_off == r->in_len)
    r->in_len = r->in_off = 0;
  return 0;
}

/* 1: the master is done (EOF, EIO: every holder of the other end has
   exited); 0: more may come. */
static int
relay_output (relay_t *r, stack_error_t **err)
{
  char buf[8192];

  for (;;)
    {
      ssize_t n = read (r->master, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n == 0 || (n < 0 && errno == EIO))
        return 1;
      if (n < 0)
        return stack_error_make (err, errno, "read the terminal of the container");
      if (write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
        return stack_error_make (err, errno, "write stdout");
    }
}

int
tty_relay (int master, stack_error_t **err)
{
  relay_t r = { .master = master, .sigfd = -1, .term_fd = -1 };
  int ret;

  ret = relay_setup (&r, err);
  while (ret == 0)
    {
      struct pollfd p[3] = { { .fd = master, .events = POLLIN },
                             { .fd = r.sigfd, .events = POLLIN },
                             { .fd = -1 } };
      bool pending = r.in_len > r.in_off;

      if (pending)
        p[0].events |= POLLOUT;
      else if (! r.in_eof)
        p[2] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
      if (poll (p, 3, -1) < 0)
        {
          if (errno != EINTR)
            ret = stack_error_make (err, errno, "poll");
          continue;
        }
      if (p[1].revents & POLLIN)
        relay_signal (&r);
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          /* POLLHUP: the last holder of the other end closed it; read
             what is left, then the read says EIO */
          ret = relay_output (&r, err);
          if (ret != 0)
            break;
        }
      if (p[0].revents & POLLOUT)
        ret = relay_to_master (&r, err);
      if (ret == 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
        ret = relay_input (&r, err);
    }
  relay_restore (&r);
  return ret < 0 ? -1 : 0;
}
