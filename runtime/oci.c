/* oci.c — what pulls and loads both read in manifests and indexes: media
   types, the layer types stack unpacks, and the platform it picks. */
#include <string.h>

#include "store-internal.h"

bool
rt_oci_is_index (const char *mt)
{
  return mt && (strcmp (mt, RT_MT_OCI_INDEX) == 0 || strcmp (mt, RT_MT_DOCKER_LIST) == 0);
}

bool
rt_oci_is_manifest (const char *mt)
{
  return mt && (strcmp (mt, RT_MT_OCI_MANIFEST) == 0 || strcmp (mt, RT_MT_DOCKER_MANIFEST) == 0);
}

const char *
rt_oci_layer_refused (const char *mt)
{
  static const char *const ok[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
  };
  size_t i;

  if (mt == NULL)
    return "a layer has no media type";
  for (i = 0; i < ARRAY_SIZE (ok); i++)
    if (strcmp (mt, ok[i]) == 0)
      return NULL;
  if (strstr (mt, "+encrypted"))
    return "encrypted layers are not supported";
  if (strstr (mt, "foreign") || strstr (mt, "nondistributable"))
    return "foreign layers are not supported: their content lives outside the image (Windows base "
           "layers)";
  return "unsupported layer media type";
}

bool
rt_oci_platform_ours (json_t *platform)
{
  const char *os = json_string_value (json_object_get (platform, "os"));
  const char *arch = json_string_value (json_object_get (platform, "architecture"));

  return os && arch && strcmp (os, "linux") == 0 && strcmp (arch, rt_go_arch ()) == 0;
}

json_t *
rt_oci_pick_platform (json_t *index, strbuf_t *have)
{
  const char *arch = rt_go_arch ();
  const char *want_variant = strcmp (arch, "arm") == 0     ? "v7"
                             : strcmp (arch, "arm64") == 0 ? "v8"
                                                           : NULL;
  json_t *m, *any = NULL;
  size_t i;

  json_array_foreach (json_object_get (index, "manifests"), i, m)
  {
    json_t *pl = json_object_get (m, "platform");
    const char *os = json_string_value (json_object_get (pl, "os"));
    const char *a = json_string_value (json_object_get (pl, "architecture"));
    const char *v = json_string_value (json_object_get (pl, "variant"));

    /* attestation manifests say unknown/unknown */
    if (have && os && a && strcmp (os, "unknown") != 0)
      sb_printf (have, "%s%s/%s%s%s", have->len ? ", " : "", os, a, v ? "/" : "", v ? v : "");
    if (!rt_oci_platform_ours (pl))
      continue;
    if (v == NULL || (want_variant && strcmp (v, want_variant) == 0))
      return m;
    if (any == NULL)
      any = m;
  }
  return any;
}
