// CIFAR-10 / CIFAR-100 binary-format readers.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lethe::data {

// One CIFAR-10 batch file: records of 1 label byte + 3072 pixel bytes (3x32x32, planar RGB).
Dataset read_cifar10_file(const std::string& path);
// One CIFAR-100 file: records of coarse label, fine label, 3072 pixel bytes; the fine label
// (100 classes) is used.
Dataset read_cifar100_file(const std::string& path);
// DIR (or DIR/cifar-10-batches-bin) with data_batch_1..5.bin and test_batch.bin; class names
// from batches.meta.txt when present, else the standard ten.
DataSplit load_cifar10(const std::string& dir);
// DIR (or DIR/cifar-100-binary) with train.bin and test.bin; class names from
// fine_label_names.txt when present.
DataSplit load_cifar100(const std::string& dir);

}  // namespace lethe::data
