// Umbrella header: everything in libvdisk's public API.
#ifndef VDISK_VDISK_H_
#define VDISK_VDISK_H_

#include "vdisk/block.h"
#include "vdisk/check.h"
#include "vdisk/cloud.h"
#include "vdisk/extent.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/pipeline.h"
#include "vdisk/properties.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"
#include "vdisk/version.h"

#endif  // VDISK_VDISK_H_
