/* it-helpers.c — see it-helpers.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it-helpers.h"

static int counter;

void
it_require_root (void)
{
  if (geteuid () != 0)
    skip ();
}

static void
mkdirs (const char *path, unsigned mode)
{
  char *p = xstrdup (path), *s;
  for (s = p + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        mkdir (p, 0755);
        *s = '/';
      }
  mkdir (p, mode);
  free (p);
}

void
it_write (it_t *t, const char *path, const char *content, unsigned mode)
{
  char *full = xasprintf ("%s%s", t->layer, path);
  char *slash = strrchr (full, '/');
  FILE *f;
  *slash = '\0';
  mkdirs (full, 0755);
  *slash = '/';
  f = fopen (full, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
  chmod (full, mode);
  free (full);
}

/* /bin/busybox and a link per applet, as busybox --install -s would. */
static void
install_busybox (it_t *t)
{
  char *bin = xasprintf ("%s/bin", t->layer);
  char *dst = xasprintf ("%s/busybox", bin);
  char line[256];
  FILE *list;
  int in, out;
  ssize_t n;
  char buf[65536];

  mkdirs (bin, 0755);
  in = open ("/bin/busybox", O_RDONLY | O_CLOEXEC);
  assert_true (in >= 0);
  out = open (dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  assert_true (out >= 0);
  while ((n = read (in, buf, sizeof buf)) > 0)
    assert_int_equal (write (out, buf, (size_t) n), n);
  close (in);
  close (out);
  list = popen ("/bin/busybox --list", "r");
  assert_non_null (list);
  while (fgets (line, sizeof line, list))
    {
      char *link;
      line[strcspn (line, "\n")] = '\0';
      if (strcmp (line, "busybox") == 0 || line[0] == '\0')
        continue;
      link = xasprintf ("%s/%s", bin, line);
      (void) !symlink ("busybox", link);
      free (link);
    }
  pclose (list);
  free (bin);
  free (dst);
}

void
it_init (it_t *t, const char *const *argv)
{
  char tmpl[] = "/tmp/stack-it-XXXXXX";
  static const char *const env[]
      = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };
  static const char *const dirs[] = { "/proc", "/sys", "/dev", "/tmp", "/root", "/etc", "/home/app" };
  size_t i;

  memset (t, 0, sizeof *t);
  assert_non_null (mkdtemp (tmpl));
  t->dir = xstrdup (tmpl);
  t->layer = xasprintf ("%s/layer", t->dir);
  t->upper = xasprintf ("%s/upper", t->dir);
  t->work = xasprintf ("%s/work", t->dir);
  t->rootfs = xasprintf ("%s/rootfs", t->dir);
  t->cgroup = xasprintf ("stack/it-%d-%d/c", (int) getpid (), counter++);
  mkdirs (t->layer, 0755);
  for (i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      char *d = xasprintf ("%s%s", t->layer, dirs[i]);
      mkdirs (d, strcmp (dirs[i], "/tmp") == 0 ? 01777 : 0755);
      free (d);
    }
  mkdirs (t->upper, 0755);
  mkdirs (t->work, 0700);
  mkdirs (t->rootfs, 0755);
  install_busybox (t);
  it_write (t, "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            0644);
  it_write (t, "/etc/group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\nnogroup:x:65534:\n", 0644);

  t->layers[0] = t->layer;
  t->spec.id = strrchr (t->cgroup, '/') + 1;
  t->spec.cgroup_path = t->cgroup;
  t->spec.rootfs_dir = t->rootfs;
  t->spec.layers = t->layers;
  t->spec.n_layers = 1;
  t->spec.upper_dir = t->upper;
  t->spec.work_dir = t->work;
  t->spec.argv = argv;
  t->spec.env = env;
  t->spec.hostname = "it";
  t->spec.caps = rt_default_caps ();
  t->spec.stdin_fd = t->spec.stdout_fd = t->spec.stderr_fd = -1;
}

int
it_run (it_t *t, char **out)
{
  rt_container_t c = { .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };
  int pipefd[2], status = -1, ret;
  char buf[4096];
  ssize_t n;

  assert_int_equal (pipe2 (pipefd, O_CLOEXEC), 0);
  t->spec.stdout_fd = t->spec.stderr_fd = pipefd[1];
  ret = rt_container_create (&t->spec, &c, &err);
  close (pipefd[1]);
  if (ret < 0)
    {
      close (pipefd[0]);
      *out = xasprintf ("create failed: %s", err->msg);
      stack_error_free (&err);
      return -1;
    }
  ret = rt_container_start (&c, &err);
  if (ret < 0)
    {
      *out = xasprintf ("start failed: %s", err->msg);
      stack_error_free (&err);
      rt_container_kill (&c, SIGKILL, &err);
      stack_error_free (&err);
    }
  while ((n = read (pipefd[0], buf, sizeof buf)) > 0)
    sb_put (&b, buf, (size_t) n);
  close (pipefd[0]);
  /* tests may wait: they own no event loop */
  while (waitpid (c.pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (rt_container_destroy (&c, &err) < 0)
    {
      fprintf (stderr, "destroy: %s\n", err->msg);
      stack_error_free (&err);
    }
  if (ret < 0)
    {
      sb_free (&b);
      return -1;
    }
  *out = sb_steal (&b);
  return status;
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

void
it_free (it_t *t)
{
  stack_error_t *err = NULL;

  if (t->cgroup)
    {
      /* the leaf and the test's own parent "stack/it-PID-N"; never "stack" */
      rt_cgroup_destroy (t->cgroup, "stack", &err);
      stack_error_free (&err);
    }
  if (t->dir)
    nftw (t->dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
  free (t->dir);
  free (t->layer);
  free (t->upper);
  free (t->work);
  free (t->rootfs);
  free (t->cgroup);
  memset (t, 0, sizeof *t);
}

char *
it_listing (const char *dir)
{
  struct dirent **names;
  strbuf_t b = { 0 };
  int n, i;

  n = scandir (dir, &names, NULL, alphasort);
  assert_true (n >= 0);
  for (i = 0; i < n; i++)
    {
      if (strcmp (names[i]->d_name, ".") != 0 && strcmp (names[i]->d_name, "..") != 0)
        {
          if (b.len)
            sb_putc (&b, ' ');
          sb_puts (&b, names[i]->d_name);
        }
      free (names[i]);
    }
  free (names);
  return sb_steal (&b);
}
