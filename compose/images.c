/* images.c — the image store's commands: `images`, `image import | load
   | ls | rm | prune`. Pulling is in pull.c, its progress in pull-view.c. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"

/* ---- sizes, names, ages ---- */

char *
human_size (uint64_t bytes, int precision)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
  double v = (double)bytes;
  size_t i = 0;

  while (v >= 1000.0 && i + 1 < ARRAY_SIZE (units))
    {
      v /= 1000.0;
      i++;
    }
  return xasprintf ("%.*g%s", precision, v, units[i]);
}

/* "localhost:5000/app:1" → "localhost:5000/app", tag "1", no digest;
   "app@sha256:..." (pulled by digest) → "app", tag "<none>", the digest. */
static char *
split_name (const char *name, const char **tag, const char **digest)
{
  const char *at = strchr (name, '@');
  const char *slash, *colon;

  *digest = NULL;
  if (at)
    {
      *tag = "<none>";
      *digest = at + 1;
      return xstrndup (name, (size_t)(at - name));
    }
  slash = strrchr (name, '/');
  colon = strrchr (slash ? slash : name, ':');
  *tag = colon ? colon + 1 : "<none>";
  return colon ? xstrndup (name, (size_t)(colon - name)) : xstrdup (name);
}

static char *
created_since (int64_t created)
{
  cleanup_free char *d = human_duration ((int64_t)time (NULL) - created);
  return xasprintf ("%s ago", d);
}

/* ---- images, image ls ---- */

enum
{
  COLS = 6
};

static void
print_images_table (rt_image_t **v, size_t n, bool digests)
{
  static const char *const head[COLS]
      = { "REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE" };
  char *(*cells)[COLS] = xzalloc ((n + 1) * sizeof *cells);
  size_t width[COLS] = { 0 }, i, j, last = COLS - 1;
  const char *tag, *digest;

  for (j = 0; j < COLS; j++)
    cells[0][j] = xstrdup (head[j]);
  for (i = 0; i < n; i++)
    {
      cells[i + 1][0] = split_name (v[i]->name, &tag, &digest);
      cells[i + 1][1] = xstrdup (tag);
      cells[i + 1][2] = xstrdup (digest ? digest : v[i]->digest ? v[i]->digest : "<none>");
      cells[i + 1][3] = xstrndup (v[i]->id + strlen ("sha256:"), 12);
      cells[i + 1][4] = created_since (v[i]->created);
      cells[i + 1][5] = human_size (v[i]->size, 3);
    }
  /* as Docker's tabwriter: cells padded by 3, at least 10 wide */
  for (i = 0; i <= n; i++)
    for (j = 0; j < COLS; j++)
      if (strlen (cells[i][j]) + 3 > width[j])
        width[j] = strlen (cells[i][j]) + 3;
  for (i = 0; i <= n; i++)
    {
      for (j = 0; j < last; j++)
        if (j != 2 || digests)
          printf ("%-*s", (int)(width[j] < 10 ? 10 : width[j]), cells[i][j]);
      printf ("%s\n", cells[i][last]);
      for (j = 0; j < COLS; j++)
        free (cells[i][j]);
    }
  free (cells);
}

static void
print_images_json (rt_image_t **v, size_t n)
{
  json_t *a = json_array ();
  char *out;
  size_t i;

  for (i = 0; i < n; i++)
    {
      const char *tag, *digest;
      cleanup_free char *repo = split_name (v[i]->name, &tag, &digest);
      time_t t = (time_t)v[i]->created;
      char created[32];
      struct tm tm;

      if (v[i]->digest)
        digest = v[i]->digest;
      gmtime_r (&t, &tm);
      strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
      json_array_append_new (a, json_pack ("{s:s, s:s, s:s, s:o, s:I, s:s}", "repository", repo,
                                           "tag", tag, "id", v[i]->id, "digest",
                                           digest ? json_string (digest) : json_null (), "size",
                                           (json_int_t)v[i]->size, "created", created));
    }
  out = json_dumps (a, JSON_INDENT (2));
  printf ("%s\n", out);
  free (out);
  json_decref (a);
}

static void
print_image_ids (rt_image_t **v, size_t n)
{
  size_t i, k;

  /* short ids, each once (an image may have several names) */
  for (i = 0; i < n; i++)
    {
      for (k = 0; k < i && strcmp (v[k]->id, v[i]->id) != 0; k++)
        ;
      if (k == i)
        printf ("%.12s\n", v[i]->id + strlen ("sha256:"));
    }
}

/* `stack images` and `stack image ls`; cmd names the command for help. */
static int
list_images (const char *cmd, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "format", required_argument, NULL, 'F' },
    { "quiet", no_argument, NULL, 'q' },
    { "digests", no_argument, NULL, 'D' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  bool json = false, quiet = false, digests = false;
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  rt_image_t **v = NULL;
  size_t n = 0, i;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'F':
        if (strcmp (optarg, "table") != 0 && strcmp (optarg, "json") != 0)
          return usage_error (cmd, "%s: --format takes `table` or `json`, not `%s`", cmd, optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      case 'q':
        quiet = true;
        break;
      case 'D':
        digests = true;
        break;
      case 'h':
        return cli_help (cmd);
      default:
        return usage_error (cmd, "%s: unknown option `%s`", cmd, argv[optind - 1]);
      }
  if (optind < argc)
    return usage_error (cmd, "%s: unexpected argument `%s`", cmd, argv[optind]);

  ret = open_store (&s);
  if (ret != EXIT_OK)
    return ret;
  if (rt_image_list (s, &v, &n, &err) < 0)
    ret = report_failure (&err);
  else if (quiet)
    print_image_ids (v, n);
  else if (json)
    print_images_json (v, n);
  else
    print_images_table (v, n, digests);
  for (i = 0; i < n; i++)
    rt_image_free (v[i]);
  free (v);
  rt_store_close (s);
  return ret;
}

int
cmd_images (struct globals *g, int argc, char **argv)
{
  (void)g;
  return list_images ("images", argc, argv);
}

/* ---- image import, load, rm, prune ---- */

static bool
wants_help (int argc, char **argv)
{
  return argc > 1 && (strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0);
}

static int
image_import (int argc, char **argv)
{
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  rt_image_t *img = NULL;
  int ret;

  if (wants_help (argc, argv))
    return cli_help ("image");
  if (argc != 3)
    return usage_error ("image", "image import: expects TAR and NAME[:TAG]");
  ret = open_store (&s);
  if (ret != EXIT_OK)
    return ret;
  if (rt_image_import (s, argv[1], argv[2], &img, &err) < 0)
    ret = report_failure (&err);
  else
    printf ("%s\n", img->id);
  rt_image_free (img);
  rt_store_close (s);
  return ret;
}

static int
image_load (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "input", required_argument, NULL, 'i' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  const char *input = NULL;
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  rt_image_t **v = NULL;
  size_t n = 0, i;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+i:qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'i':
        input = optarg;
        break;
      case 'q':
        /* there is no progress to hide: the names are still told, as Docker does */
        break;
      case 'h':
        return cli_help ("image");
      default:
        return usage_error ("image", "image load: unknown option `%s`, or missing its value",
                            argv[optind - 1]);
      }
  if (optind < argc)
    return usage_error ("image", "image load: unexpected argument `%s`", argv[optind]);
  if (input == NULL)
    return usage_error ("image", "image load: expects -i FILE: a `docker save` tarball, an OCI "
                                 "image archive or an OCI layout directory");
  ret = open_store (&s);
  if (ret != EXIT_OK)
    return ret;
  if (rt_image_load (s, input, &v, &n, &err) < 0)
    ret = report_failure (&err);
  for (i = 0; i < n; i++)
    {
      if (v[i]->name)
        printf ("Loaded image: %s\n", v[i]->name);
      else
        printf ("Loaded image ID: %s\n", v[i]->id);
      rt_image_free (v[i]);
    }
  free (v);
  rt_store_close (s);
  return ret;
}

static int
image_rm (int argc, char **argv)
{
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  int i, ret, worst = EXIT_OK;

  if (wants_help (argc, argv))
    return cli_help ("image");
  if (argc < 2)
    return usage_error ("image", "image rm: expects at least one image");
  ret = open_store (&s);
  if (ret != EXIT_OK)
    return ret;
  /* as `docker rmi`: each image in turn, the others still tried after a failure */
  for (i = 1; i < argc; i++)
    {
      rt_image_t *img = NULL, *still = NULL;

      if (rt_image_get (s, argv[i], &img, &err) < 0 || rt_image_remove (s, argv[i], &err) < 0)
        {
          ret = report_failure (&err);
          if (ret > worst)
            worst = ret;
          rt_image_free (img);
          continue;
        }
      printf ("Untagged: %s\n", img->name);
      if (rt_image_get (s, img->id, &still, &err) < 0)
        printf ("Deleted: %s\n", img->id);
      stack_error_free (&err);
      rt_image_free (still);
      rt_image_free (img);
    }
  rt_store_close (s);
  return worst;
}

/* Docker's prompt: only an answer starting with y says yes. */
static bool
confirmed (const char *warning)
{
  char line[64];

  printf ("WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", warning);
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) == NULL)
    {
      putchar ('\n');
      return false;
    }
  return line[0] == 'y' || line[0] == 'Y';
}

static int
image_prune (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "all", no_argument, NULL, 'a' },
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  bool all = false, force = false;
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  char **removed = NULL;
  cleanup_free char *total = NULL;
  uint64_t freed = 0;
  size_t i;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+afh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'f':
        force = true;
        break;
      case 'h':
        return cli_help ("image");
      default:
        return usage_error ("image", "image prune: unknown option `%s`", argv[optind - 1]);
      }
  if (optind < argc)
    return usage_error ("image", "image prune: unexpected argument `%s`", argv[optind]);
  if (!force
      && !confirmed (all ? "all images without at least one container associated to them"
                         : "the layers and blobs no image uses (what interrupted pulls and "
                           "loads left)"))
    return EXIT_OK;
  ret = open_store (&s);
  if (ret != EXIT_OK)
    return ret;
  if (rt_image_prune (s, all, &removed, &freed, &err) < 0)
    ret = report_failure (&err);
  else
    {
      for (i = 0; removed && removed[i]; i++)
        printf ("Deleted: %s\n", removed[i]);
      total = human_size (freed, 4);
      printf ("Total reclaimed space: %s\n", total);
    }
  for (i = 0; removed && removed[i]; i++)
    free (removed[i]);
  free (removed);
  rt_store_close (s);
  return ret;
}

int
cmd_image (struct globals *g, int argc, char **argv)
{
  static const char *const later[] = { "save", "inspect", "tag" };
  size_t i;

  (void)g;
  if (argc < 2)
    return usage_error ("image",
                        "image: expects a subcommand: import, load, ls, prune, pull or rm");
  if (strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0)
    return cli_help ("image");
  if (strcmp (argv[1], "import") == 0)
    return image_import (argc - 1, argv + 1);
  if (strcmp (argv[1], "load") == 0)
    return image_load (argc - 1, argv + 1);
  if (strcmp (argv[1], "ls") == 0 || strcmp (argv[1], "list") == 0)
    return list_images ("image", argc - 1, argv + 1);
  if (strcmp (argv[1], "rm") == 0 || strcmp (argv[1], "remove") == 0)
    return image_rm (argc - 1, argv + 1);
  if (strcmp (argv[1], "prune") == 0)
    return image_prune (argc - 1, argv + 1);
  if (strcmp (argv[1], "pull") == 0)
    return image_pull (argc - 1, argv + 1);
  for (i = 0; i < ARRAY_SIZE (later); i++)
    if (strcmp (argv[1], later[i]) == 0)
      {
        fprintf (stderr, "stack: `image %s` is not available in this version yet\n", argv[1]);
        return EXIT_FAIL;
      }
  return usage_error ("image", "image: unknown subcommand `%s`", argv[1]);
}
