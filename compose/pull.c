/* pull.c — `stack pull`, and `pull_policy` for `up`: which services'
   images to pull, with what credentials, before anything is created. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "compose-internal.h"

/* ---- pulling ---- */

/* STACK_AUTH_FILE, else Docker's own config.json when there is one */
static char *
auth_file (void)
{
  const char *v = getenv ("STACK_AUTH_FILE");
  const char *dir = getenv ("DOCKER_CONFIG"), *home = getenv ("HOME");
  char *path;

  if (v && *v)
    return xstrdup (v);
  if (dir && *dir)
    path = xasprintf ("%s/config.json", dir);
  else if (home && *home)
    path = xasprintf ("%s/.docker/config.json", home);
  else
    return NULL;
  if (access (path, F_OK) == 0)
    return path;
  free (path);
  return NULL;
}

static bool
fancy (FILE *out)
{
  const char *term = getenv ("TERM");
  return isatty (fileno (out)) && !(term && strcmp (term, "dumb") == 0);
}

/* Pull ref, its progress on out (NULL: none). */
static int
pull_image (rt_store_t *s, const char *ref, FILE *out, stack_error_t **err)
{
  cleanup_free char *auth = auth_file ();
  const char *insecure = getenv ("STACK_INSECURE_REGISTRIES");
  const char *certs = getenv ("STACK_CERTS_DIR");
  rt_pull_opts_t o = {
    .auth_file = auth,
    .insecure = insecure && *insecure ? insecure : NULL,
    .certs_dir = certs && *certs ? certs : "/etc/docker/certs.d",
  };
  pull_view_t *v = NULL;
  int ret;

  if (out)
    {
      v = pull_view_new (out, ref, fancy (out));
      o.progress = pull_view_event;
      o.progress_data = v;
    }
  ret = rt_image_pull (s, ref, &o, NULL, err);
  pull_view_free (v);
  if (ret < 0)
    return stack_error_wrap (err, "pull `%s`", ref);
  return 0;
}

/* When the store got ref: epoch seconds, -1 when it is not there. */
static int
image_stored (rt_store_t *s, const char *ref, int64_t *stored, stack_error_t **err)
{
  rt_image_t *img = NULL;

  if (rt_image_get (s, ref, &img, err) < 0)
    {
      if ((*err)->status != ENOENT)
        return -1;
      stack_error_free (err);
      *stored = -1;
      return 0;
    }
  *stored = img->stored;
  rt_image_free (img);
  return 0;
}

static const char *
policy_of (const compose_service_t *svc)
{
  const node_t *pp = node_map_get (svc->node, "pull_policy");
  return pp && pp->kind == N_STR ? pp->str : NULL;
}

static const char *
image_of (const compose_service_t *svc)
{
  const node_t *image = node_map_get (svc->node, "image");
  return image && image->kind == N_STR ? image->str : NULL;
}

struct pulls
{
  const char **images; /* pulled (or tried) in this run */
  const char **by;     /* for which service */
  size_t n;
};

static const char *
pulled_by (const struct pulls *done, const char *image)
{
  size_t i;

  for (i = 0; i < done->n; i++)
    if (strcmp (done->images[i], image) == 0)
      return done->by[i];
  return NULL;
}

static void
pulls_add (struct pulls *done, const char *image, const char *by)
{
  done->images = xrealloc (done->images, (done->n + 1) * sizeof *done->images);
  done->by = xrealloc (done->by, (done->n + 1) * sizeof *done->by);
  done->images[done->n] = image;
  done->by[done->n++] = by;
}

/* `pull` for one service: policy is --policy, or NULL for the service's own. */
static int
pull_service (rt_store_t *s, const compose_service_t *svc, const char *policy, bool quiet,
              struct pulls *done, stack_error_t **err)
{
  const char *image = image_of (svc), *by;
  cleanup_free char *skip = NULL;
  int64_t stored;

  if (policy == NULL)
    policy = policy_of (svc);
  if (image == NULL)
    skip = xstrdup ("No image to be pulled");
  else if (policy && (strcmp (policy, "never") == 0 || strcmp (policy, "build") == 0))
    skip = xasprintf ("its pull_policy is %s", policy);
  else if ((by = pulled_by (done, image)))
    skip = xasprintf ("Image is already being pulled by %s", by);
  else if (policy && strcmp (policy, "missing") == 0)
    {
      if (image_stored (s, image, &stored, err) < 0)
        return stack_error_wrap (err, "service `%s`", svc->name);
      if (stored >= 0)
        skip = xstrdup ("Image is already present locally");
    }
  if (skip)
    {
      if (!quiet)
        printf (" Service %s  Skipped - %s\n", svc->name, skip);
      return 0;
    }
  pulls_add (done, image, svc->name);
  fflush (stdout);
  return pull_image (s, image, quiet ? NULL : stdout, err);
}

int
cmd_pull (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "quiet", no_argument, NULL, 'q' },
    { "ignore-pull-failures", no_argument, NULL, 'I' },
    { "policy", required_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  bool quiet = false, ignore = false;
  const char *policy = NULL;
  compose_project_t *p = NULL;
  cleanup_free bool *selected = NULL;
  struct pulls done = { 0 };
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  size_t i;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case 'I':
        ignore = true;
        break;
      case 'P':
        if (strcmp (optarg, "missing") != 0 && strcmp (optarg, "always") != 0)
          return usage_error ("pull", "pull: --policy takes `missing` or `always`, not `%s`",
                              optarg);
        policy = optarg;
        break;
      case 'h':
        return cli_help ("pull");
      default:
        return usage_error ("pull", "pull: unknown option `%s`, or missing its value",
                            argv[optind - 1]);
      }
  g->services = (const char *const *)argv + optind;
  g->n_services = (size_t)(argc - optind);
  if ((ret = load_project (g, &p)) != EXIT_OK)
    return ret;
  selected = xzalloc ((p->n_services + 1) * sizeof *selected);
  for (i = 0; optind == argc && i < p->n_services; i++)
    selected[i] = true;
  for (i = (size_t)optind; i < (size_t)argc; i++)
    {
      compose_service_t *svc = compose_service_find (p, argv[i]);
      if (svc == NULL)
        {
          stack_error_make (&err, 0, "no such service: `%s`", argv[i]);
          goto out;
        }
      selected[svc - p->services] = true;
    }
  if ((ret = open_store (&s)) != EXIT_OK)
    goto out;
  for (i = 0; i < p->n_services; i++)
    if (selected[i] && pull_service (s, &p->services[i], policy, quiet, &done, &err) < 0)
      {
        if (!ignore)
          goto out;
        fprintf (stderr, "stack: warning: %s\n", err->msg);
        stack_error_free (&err);
      }

out:
  if (err)
    ret = report_failure (&err);
  free (done.images);
  free (done.by);
  if (s)
    rt_store_close (s);
  compose_project_free (p);
  return ret;
}

/* ---- pull_policy, for `up` ---- */

bool
pull_policy_max_age (const char *policy, int64_t *seconds)
{
  const char *s;
  int64_t total = 0, n, unit;

  if (strcmp (policy, "daily") == 0)
    return (*seconds = 86400), true;
  if (strcmp (policy, "weekly") == 0)
    return (*seconds = 7 * 86400), true;
  if (!str_has_prefix (policy, "every_") || policy[6] == '\0')
    return false;
  for (s = policy + 6; *s;)
    {
      if (*s < '0' || *s > '9')
        return false;
      for (n = 0; *s >= '0' && *s <= '9'; s++)
        n = n > INT64_MAX / 100 ? INT64_MAX / 100 : n * 10 + (*s - '0');
      switch (*s++)
        {
        case 'w':
          unit = 7 * 86400;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'm':
          unit = 60;
          break;
        case 's':
          unit = 1;
          break;
        default:
          return false;
        }
      /* absurd ages saturate: "never too old" is what they mean */
      total = n > (INT64_MAX - total) / unit ? INT64_MAX : total + n * unit;
    }
  *seconds = total;
  return true;
}

enum image_need
pull_policy_need (const char *policy, int64_t stored, int64_t now)
{
  bool present = stored >= 0;
  int64_t age;

  if (policy == NULL || strcmp (policy, "missing") == 0 || strcmp (policy, "if_not_present") == 0)
    return present ? IMAGE_USE : IMAGE_PULL;
  if (strcmp (policy, "always") == 0 || strcmp (policy, "refresh") == 0)
    return IMAGE_PULL;
  if (strcmp (policy, "never") == 0)
    return present ? IMAGE_USE : IMAGE_ABSENT;
  if (strcmp (policy, "build") == 0)
    return IMAGE_BUILD;
  if (pull_policy_max_age (policy, &age))
    return present && now - stored <= age ? IMAGE_USE : IMAGE_PULL;
  /* normalization lets no other value through; behave as the default */
  return present ? IMAGE_USE : IMAGE_PULL;
}

static int
refuse_build (const compose_service_t *svc, stack_error_t **err)
{
  const node_t *pp = node_map_get (svc->node, "pull_policy");

  return stack_error_set (err, EINVAL,
                          "%s:%u:%u: services.%s.pull_policy: `build`: stack does not build "
                          "images; build it elsewhere and load it (`stack image load -i FILE`), "
                          "or choose another pull_policy",
                          pp->mark.src ? pp->mark.src->path : "-", pp->mark.line, pp->mark.col,
                          svc->name);
}

int
images_ensure (rt_store_t *s, compose_project_t *p, const size_t *order, size_t n, bool quiet,
               stack_error_t **err)
{
  struct pulls done = { 0 };
  size_t i;
  int ret = 0;

  for (i = 0; i < n && ret == 0; i++)
    {
      const compose_service_t *svc = &p->services[order[i]];
      const char *image = image_of (svc);
      int64_t stored;

      /* no image: prepare_container says what is wrong */
      if (image == NULL || pulled_by (&done, image))
        continue;
      if (image_stored (s, image, &stored, err) < 0)
        {
          ret = stack_error_wrap (err, "service `%s`", svc->name);
          break;
        }
      switch (pull_policy_need (policy_of (svc), stored, (int64_t)time (NULL)))
        {
        case IMAGE_USE:
          break;
        case IMAGE_ABSENT:
          ret = stack_error_make (err, 0,
                                  "service `%s`: image `%s` is not in the store and its "
                                  "pull_policy is never: pull it (`stack pull %s`) or load it "
                                  "(`stack image load -i FILE`)",
                                  svc->name, image, svc->name);
          break;
        case IMAGE_BUILD:
          ret = refuse_build (svc, err);
          break;
        case IMAGE_PULL:
          pulls_add (&done, image, svc->name);
          if (pull_image (s, image, quiet ? NULL : stderr, err) < 0)
            ret = stack_error_wrap (err, "service `%s`", svc->name);
          break;
        }
    }
  free (done.images);
  free (done.by);
  return ret;
}

/* `image pull [-q] REF...`: images by name, no stack file needed. */
int
image_pull (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  stack_error_t *err = NULL;
  rt_store_t *s = NULL;
  bool quiet = false;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'q':
        quiet = true;
        break;
      case 'h':
        return cli_help ("image");
      default:
        return usage_error ("image", "image pull: unknown option `%s`", argv[optind - 1]);
      }
  if (optind == argc)
    return usage_error ("image", "image pull: expects at least one image");
  ret = open_store (&s);
  for (; ret == EXIT_OK && optind < argc; optind++)
    if (pull_image (s, argv[optind], quiet ? NULL : stdout, &err) < 0)
      ret = report_failure (&err);
  rt_store_close (s);
  return ret;
}
