/* store.c — placeholder. */
#include <errno.h>

#include "runtime-internal.h"

int
rt_store_open (const char *root, rt_store_t **out, stack_error_t **err)
{
  (void) root, (void) out;
  return stack_error_make (err, ENOSYS, "open image store");
}

void
rt_store_close (rt_store_t *s)
{
  (void) s;
}

int
rt_image_import (rt_store_t *s, const char *tar_path, const char *name, rt_image_t **out,
                 stack_error_t **err)
{
  (void) s, (void) tar_path, (void) name, (void) out;
  return stack_error_make (err, ENOSYS, "import image");
}

int
rt_image_get (rt_store_t *s, const char *ref, rt_image_t **out, stack_error_t **err)
{
  (void) s, (void) ref, (void) out;
  return stack_error_make (err, ENOSYS, "find image");
}

int
rt_image_list (rt_store_t *s, rt_image_t ***out, size_t *n, stack_error_t **err)
{
  (void) s, (void) out, (void) n;
  return stack_error_make (err, ENOSYS, "list images");
}

int
rt_image_remove (rt_store_t *s, const char *ref, stack_error_t **err)
{
  (void) s, (void) ref;
  return stack_error_make (err, ENOSYS, "remove image");
}

void
rt_image_free (rt_image_t *img)
{
  (void) img;
}
