// IDX reader (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lethe::data {

// u8 [N,1,H,W] from an IDX3 image file (magic 0x00000803).
Tensor read_idx_images(const std::string& path);
// i64 [N] from an IDX1 label file (magic 0x00000801); every value must be < num_classes.
Tensor read_idx_labels(const std::string& path, int64_t num_classes = 10);
// One image file + its label file, counts checked against each other.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& name, int64_t num_classes = 10);
// DIR holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte (each optionally .gz; the "train-images.idx3-ubyte" spelling also works).
// `fashion` selects the Fashion-MNIST class names (else "0".."9").
DataSplit load_idx_dir(const std::string& dir, const std::string& name, bool fashion);

}  // namespace lethe::data
