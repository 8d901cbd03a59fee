/* A C program using the installed libvdisk through its C API (vdisk_c.h): writes a raw disk,
 * converts it to a VHD, and checks the result byte for byte, the progress calls, the info JSON
 * and the error convention. Built with a C compiler, linked via pkg-config (vdisk-c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdisk/vdisk_c.h>

#define DISK_BYTES (3u << 20)

struct progress {
  unsigned calls;
  uint64_t last_done;
  uint64_t total;
};

static int on_progress(void* ctx, uint64_t done, uint64_t total) {
  struct progress* p = ctx;
  p->calls++;
  p->last_done = done;
  p->total = total;
  return 0;
}

/* vdisk_convert2's reports: the phases seen in order, the last report's counters. */
struct progress2 {
  unsigned calls;
  int out_of_order;
  uint32_t size;
  uint32_t phase;
  uint64_t done, read, written;
};

static int on_progress2(void* ctx, const vdisk_progress_t* r) {
  struct progress2* p = ctx;
  if (p->calls++ > 0 && r->phase < p->phase) p->out_of_order = 1;
  p->size = r->size;
  p->phase = r->phase;
  p->done = r->done_bytes;
  p->read = r->read_bytes;
  p->written = r->written_bytes;
  return 0;
}

static int fail(const char* what, int code, char* err) {
  fprintf(stderr, "consumer_c: %s: %s: %s\n", what, vdisk_errc_name(code), err ? err : "?");
  vdisk_free(err);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char src[4096], dst[4096];
  snprintf(src, sizeof src, "%s/c-disk.raw", argv[1]);
  snprintf(dst, sizeof dst, "%s/c-disk.vhd", argv[1]);
  unsigned char* disk = malloc(DISK_BYTES);
  unsigned char* back = malloc(DISK_BYTES + 512);
  if (!disk || !back) return 2;
  for (uint32_t i = 0; i < DISK_BYTES; i++) disk[i] = (unsigned char)(i * 2654435761u >> 24);
  FILE* f = fopen(src, "wb");
  if (!f || fwrite(disk, 1, DISK_BYTES, f) != DISK_BYTES || fclose(f) != 0) return 2;

  char* err = NULL;
  vdisk_options_t* opts = vdisk_options_create();
  int rc;
  if ((rc = vdisk_options_set(opts, "target", "vhd", &err)) != VDISK_OK)
    return fail("target", rc, err);
  if ((rc = vdisk_options_set(opts, "overwrite", NULL, &err)) != VDISK_OK)
    return fail("overwrite", rc, err);
  /* The error convention: a bad value is invalid_argument with a message naming the key. */
  rc = vdisk_options_set(opts, "threads", "lots", &err);
  if (rc != VDISK_INVALID_ARGUMENT || err == NULL || strstr(err, "threads") == NULL) {
    fprintf(stderr, "consumer_c: threads=lots gave %d (%s)\n", rc, err ? err : "no message");
    return 1;
  }
  vdisk_free(err);
  err = NULL;

  struct progress p = {0, 0, 0};
  char* report = NULL;
  rc = vdisk_convert(src, dst, opts, on_progress, &p, &report, &err);
  if (rc != VDISK_OK) return fail("convert", rc, err);
  /* The same with every progress field: phases in order, done last, the final counters. */
  struct progress2 p2 = {0, 0, 0, 0, 0, 0, 0};
  rc = vdisk_convert2(src, dst, opts, on_progress2, &p2, NULL, &err);
  if (rc != VDISK_OK) return fail("convert2", rc, err);
  if (p2.calls < 4 || p2.out_of_order || p2.size != sizeof(vdisk_progress_t) ||
      p2.phase != VDISK_PHASE_DONE || strcmp(vdisk_phase_name((int)p2.phase), "done") != 0 ||
      p2.done != DISK_BYTES || p2.read != DISK_BYTES || p2.written != DISK_BYTES + 512) {
    fprintf(stderr, "consumer_c: convert2: %u calls, size %u, phase %u, %llu done, %llu read, "
            "%llu written\n", p2.calls, p2.size, p2.phase, (unsigned long long)p2.done,
            (unsigned long long)p2.read, (unsigned long long)p2.written);
    return 1;
  }
  vdisk_options_destroy(opts);
  if (p.calls == 0 || p.last_done != DISK_BYTES || p.total != DISK_BYTES || !report ||
      !strstr(report, "\"target\": \"vhd\"")) {
    fprintf(stderr, "consumer_c: progress %u calls, %llu of %llu; report %s\n", p.calls,
            (unsigned long long)p.last_done, (unsigned long long)p.total, report);
    return 1;
  }
  vdisk_free(report);

  /* A fixed VHD: the disk's bytes, then a 512-byte footer starting "conectix". */
  f = fopen(dst, "rb");
  size_t got = f ? fread(back, 1, DISK_BYTES + 512, f) : 0;
  int extra = f ? fgetc(f) : 0;
  if (f) fclose(f);
  if (got != DISK_BYTES + 512 || extra != EOF || memcmp(back, disk, DISK_BYTES) != 0 ||
      memcmp(back + DISK_BYTES, "conectix", 8) != 0) {
    fprintf(stderr, "consumer_c: %s is not the disk plus a VHD footer (%zu bytes)\n", dst, got);
    return 1;
  }

  vdisk_image_t* image = NULL;
  if ((rc = vdisk_open(dst, NULL, &image, &err)) != VDISK_OK) return fail("open", rc, err);
  char* info = NULL;
  if ((rc = vdisk_image_info_json(image, &info, &err)) != VDISK_OK) return fail("info", rc, err);
  if (strcmp(vdisk_image_format(image), "vhd") != 0 || vdisk_image_size(image) != DISK_BYTES ||
      !strstr(info, "\"format\": \"vhd\"")) {
    fprintf(stderr, "consumer_c: info %s\n", info);
    return 1;
  }
  vdisk_free(info);
  vdisk_close(image);

  rc = vdisk_open(src, NULL, &image, NULL); /* errptr may be NULL */
  if (rc != VDISK_OK) return fail("open raw", rc, NULL);
  vdisk_close(image);
  rc = vdisk_open("/nonexistent/disk.raw", NULL, &image, &err);
  if (rc != VDISK_NOT_FOUND || image != NULL) return fail("open missing", rc, err);
  vdisk_free(err);
  free(disk);
  free(back);
  printf("vdisk %s (C API): %u progress calls, VHD verified\n", vdisk_version(), p.calls);
  return 0;
}
