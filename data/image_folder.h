// Image folders (DIR/<class>/*.png|jpg...) and CSV lists of `path,label`, decoded by stb_image.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lethe::data {

struct ImageOptions {
  int64_t height = 0, width = 0;  // common size; 0 = the first image's size
  int64_t channels = 0;           // 1 or 3; 0 = 3 if any image has colour, else 1
  double test_fraction = 0.2;     // used when the source has no train/test division
};

// `path` is a directory or a .csv file.
// Directory: DIR/train/<class>/* and DIR/test/<class>/* if both exist (classes from train/),
// else DIR/<class>/* split per class, deterministically by seed. Classes are the sorted
// subfolder names.
// CSV: rows `path,label` (an optional `path,label` header), paths relative to the CSV's folder;
// integer labels are used as given, names become classes in sorted order; split by seed.
DataSplit load_image_folder(const std::string& path, uint64_t seed, const ImageOptions& opt = {});

// Bilinear resize of an interleaved HWC u8 image (pixel centres aligned, edges clamped).
void resize_bilinear(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t dh,
                     int64_t dw, int64_t channels);

}  // namespace lethe::data
