/* tty-internal.h — the terminal side of `stack exec` with a tty. */
#ifndef STACK_TTY_INTERNAL_H
#define STACK_TTY_INTERNAL_H

#include "../util/util.h"

/* Relay between our stdin/stdout and a container's pty master until the
   program and everything else holding the pty's other end have exited
   (the master reports EOF, EIO or a hang-up). Our stdin is in raw mode
   meanwhile when it is a terminal, restored on every way out; SIGINT,
   SIGTERM and SIGHUP restore it and then end us as they would have. The
   window size is passed on at the start and on every SIGWINCH. When stdin
   ends first, the pty's EOF character (^D) is sent once and the output
   is still read to its end. */
int tty_relay (int master, stack_error_t **err);

#endif
