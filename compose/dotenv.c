/* dotenv.c — placeholder. */
#include "compose-internal.h"

int
dotenv_parse (ld_t *ld, const source_t *src, const char *text, const env_t *lookup, env_t *out)
{
  (void) ld, (void) src, (void) text, (void) lookup, (void) out;
  return 0;
}
