/* fuzz_image.c — libFuzzer target for what a registry or an image hands
   us and stack parses by hand: the input's lines are an image reference
   (rt_ref_parse), a WWW-Authenticate challenge (reg_challenge_param), a
   `created` time (rt_parse_created), and the rest an image config
   (rt_image_config_from_json). Any crash, leak, hang or sanitizer report
   is a bug in runtime/.

   Build: CC=clang cmake -DSTACK_FUZZ=ON; run: tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry-internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The next line of [*p, end) as a string, *p moved past it. */
static char *
next_line (const char **p, const char *end)
{
  const char *nl = memchr (*p, '\n', (size_t)(end - *p));
  const char *stop = nl ? nl : end;
  char *line = xstrndup (*p, (size_t)(stop - *p));

  *p = nl ? nl + 1 : end;
  return line;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const keys[] = { "realm", "service", "scope", "error" };
  const char *p = (const char *)data, *end = p + size;
  char *ref_text = next_line (&p, end), *challenge = next_line (&p, end);
  char *created = next_line (&p, end);
  stack_error_t *err = NULL;
  rt_image_config_t config;
  json_t *blob;
  rt_ref_t ref;
  size_t i;

  if (rt_ref_parse (ref_text, &ref, &err) == 0)
    rt_ref_free (&ref);
  stack_error_free (&err);
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
    free (reg_challenge_param (challenge, keys[i]));
  (void)rt_parse_created (created);
  blob = json_loadb (p, (size_t)(end - p), 0, NULL);
  rt_image_config_from_json (blob, &config);
  rt_image_config_clear (&config);
  json_decref (blob);
  free (ref_text);
  free (challenge);
  free (created);
  return 0;
}
