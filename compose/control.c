/* control.c — the supervisor's control socket: one JSON request a
   connection, answered by JSON lines.

   A client that reads slowly or not at all must cost the supervisor
   neither its loop nor unbounded memory: sockets are non-blocking, what
   does not fit is kept up to CLIENT_OUT_MAX, and a client past that (or
   gone) is dropped. SIGPIPE is ignored; every send says MSG_NOSIGNAL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lifecycle-internal.h"

#define CONTROL_LINE_MAX (1 << 20)
#define CLIENT_OUT_MAX (1 << 20)

typedef struct client
{
  ev_io in, out;
  supervisor_t *sv;
  strbuf_t inbuf, outbuf;
  size_t sent;   /* of outbuf */
  bool gone;     /* hung up, or too slow: nothing more is sent */
  bool finished; /* closed once outbuf is out */
  bool sub;      /* an `events` subscriber */
} client_t;

static void
client_free (client_t *cl)
{
  supervisor_t *sv = cl->sv;
  size_t i;

  ev_io_stop (sv->loop, &cl->in);
  ev_io_stop (sv->loop, &cl->out);
  if (cl->sub)
    for (i = 0; i < sv->n_subs; i++)
      if (sv->subs[i] == cl)
        {
          sv->subs[i] = sv->subs[--sv->n_subs];
          break;
        }
  close (cl->in.fd);
  sb_free (&cl->inbuf);
  sb_free (&cl->outbuf);
  free (cl);
}

/* Send what is pending; true while the client is worth keeping. */
static bool
flush (client_t *cl)
{
  while (!cl->gone && cl->sent < cl->outbuf.len)
    {
      ssize_t n = send (cl->in.fd, cl->outbuf.s + cl->sent, cl->outbuf.len - cl->sent,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
        cl->gone = true;
      else
        cl->sent += (size_t)n;
    }
  if (cl->sent == cl->outbuf.len || cl->gone)
    {
      cl->outbuf.len = cl->sent = 0;
      ev_io_stop (cl->sv->loop, &cl->out);
    }
  else
    ev_io_start (cl->sv->loop, &cl->out);
  return !cl->gone;
}

static void
out_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  client_t *cl = w->data;

  (void)loop, (void)revents;
  flush (cl);
  if (cl->finished && (cl->gone || cl->outbuf.len == 0))
    client_free (cl);
  else if (cl->gone && cl->sub)
    client_free (cl);
}

void
control_send (client_t *cl, json_t *j)
{
  char *text = json_dumps (j, JSON_COMPACT);

  json_decref (j);
  if (text == NULL || cl == NULL || cl->gone)
    {
      free (text);
      return;
    }
  if (cl->outbuf.len - cl->sent + strlen (text) + 1 > CLIENT_OUT_MAX)
    cl->gone = true; /* it does not read: it gets nothing more */
  else
    {
      sb_puts (&cl->outbuf, text);
      sb_putc (&cl->outbuf, '\n');
      flush (cl);
    }
  free (text);
}

void
control_finish (client_t *cl, json_t *j)
{
  control_send (cl, j);
  cl->finished = true;
  if (cl->gone || cl->outbuf.len == 0)
    client_free (cl);
}

void
control_broadcast (supervisor_t *sv, json_t *j)
{
  size_t i;

  for (i = sv->n_subs; i-- > 0;)
    {
      client_t *cl = sv->subs[i];
      control_send (cl, json_incref (j));
      if (cl->gone)
        client_free (cl);
    }
  json_decref (j);
}

static void
answer (client_t *cl, const char *error)
{
  control_finish (cl, error ? json_pack ("{sbss}", "ok", 0, "error", error)
                            : json_pack ("{sb}", "ok", 1));
}

static void
request (client_t *cl, json_t *req)
{
  supervisor_t *sv = cl->sv;
  const char *cmd = json_string_value (json_object_get (req, "command"));
  stack_error_t *err = NULL;

  if (cmd == NULL)
    answer (cl, "a request needs a \"command\"");
  else if (strcmp (cmd, "ping") == 0)
    control_finish (cl, json_pack ("{sbsi}", "ok", 1, "pid", (int)getpid ()));
  else if (strcmp (cmd, "events") == 0)
    {
      /* it stays until it hangs up or we end; reading shows the hang-up */
      cl->sub = true;
      sv->subs = xrealloc (sv->subs, (sv->n_subs + 1) * sizeof *sv->subs);
      sv->subs[sv->n_subs++] = cl;
      control_send (cl, json_pack ("{sb}", "ok", 1));
      ev_io_start (sv->loop, &cl->in);
    }
  else if (strcmp (cmd, "kill") == 0)
    {
      json_t *sig = json_object_get (req, "signal");
      if (sv_kill (sv, cl, json_object_get (req, "services"),
                   json_is_integer (sig) ? (int)json_integer_value (sig) : SIGKILL, &err)
          < 0)
        {
          answer (cl, err->msg);
          stack_error_free (&err);
        }
      else
        answer (cl, NULL);
    }
  else if (strcmp (cmd, "up") == 0)
    sv_queue (sv, cl, OP_UP, req);
  else if (strcmp (cmd, "start") == 0)
    sv_queue (sv, cl, OP_START, req);
  else if (strcmp (cmd, "stop") == 0)
    sv_queue (sv, cl, OP_STOP, req);
  else if (strcmp (cmd, "restart") == 0)
    sv_queue (sv, cl, OP_RESTART, req);
  else if (strcmp (cmd, "down") == 0)
    sv_queue (sv, cl, OP_DOWN, req);
  else
    answer (cl, "unknown command");
}

static void
in_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  client_t *cl = w->data;
  char buf[4096], *nl;
  ssize_t n = recv (w->fd, buf, sizeof buf, MSG_DONTWAIT);
  json_t *req;

  (void)revents;
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (cl->sub)
    {
      /* a subscriber says nothing more: this is its hang-up */
      if (n <= 0)
        client_free (cl);
      return;
    }
  if (n <= 0 || cl->inbuf.len + (size_t)n > CONTROL_LINE_MAX)
    {
      client_free (cl);
      return;
    }
  sb_put (&cl->inbuf, buf, (size_t)n);
  if ((nl = memchr (cl->inbuf.s, '\n', cl->inbuf.len)) == NULL)
    return;
  *nl = '\0';
  /* one request a connection: the answer is all that follows */
  ev_io_stop (loop, w);
  req = json_loads (cl->inbuf.s, 0, NULL);
  if (!json_is_object (req))
    answer (cl, "a request is one JSON object on one line");
  else
    request (cl, req);
  json_decref (req);
}

static void
listen_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  supervisor_t *sv = w->data;
  client_t *cl;
  int fd = accept4 (w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

  (void)revents;
  if (fd < 0)
    return;
  cl = xzalloc (sizeof *cl);
  cl->sv = sv;
  ev_io_init (&cl->in, in_cb, fd, EV_READ);
  cl->in.data = cl;
  ev_io_init (&cl->out, out_cb, fd, EV_WRITE);
  cl->out.data = cl;
  ev_io_start (loop, &cl->in);
}

int
control_start (supervisor_t *sv, stack_error_t **err)
{
  if ((sv->listen_fd = control_listen (sv->run_dir, err)) < 0)
    return -1;
  ev_io_init (&sv->listen, listen_cb, sv->listen_fd, EV_READ);
  sv->listen.data = sv;
  ev_io_start (sv->loop, &sv->listen);
  return 0;
}

void
control_stop (supervisor_t *sv)
{
  cleanup_free char *sock = xasprintf ("%s/control.sock", sv->run_dir);

  while (sv->n_subs > 0)
    client_free (sv->subs[sv->n_subs - 1]);
  free (sv->subs);
  sv->subs = NULL;
  if (sv->listen_fd >= 0)
    {
      ev_io_stop (sv->loop, &sv->listen);
      close (sv->listen_fd);
      sv->listen_fd = -1;
      unlink (sock);
    }
}
