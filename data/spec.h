// Data SPEC parsing (the --data option): one entry point that loads any supported source.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lethe::data {

// Forms (see DESIGN.md):
//   fashion-mnist[:DIR]   default DIR /usr/share/datasets/fashion-mnist (Debian package)
//   mnist:DIR             IDX files, plain or .gz
//   cifar10:DIR           cifar100:DIR   binary versions
//   folder:DIR|FILE.csv[:size=S|HxW][:channels=1|3][:test=F][:seed=S]
//   csv:FILE[:label=COL][:protected=COL|COL<T][:test=F][:seed=S]
//   synthetic:mixture[:K[:D[:N]]][:sep=S][:test=F][:seed=S]
// `seed` drives the splits and generators that need one; a `seed=` option in the spec overrides
// it, so the data split can stay fixed while training seeds vary. Throws lethe::Error naming the
// spec and listing the valid forms when the spec is not understood.
DataSplit load_dataset(const std::string& spec, uint64_t seed);

// The data of a run: the spec's train/test split, the training set cut to `subset` rows (a
// seeded choice, kept in dataset order) when subset > 0. Forget specs, forget.txt and every
// index of the run refer to rows of this training set; unlearn and eval rebuild it from the
// original run's config.json.
DataSplit load_training_data(const std::string& spec, uint64_t seed, int64_t subset);

// The valid forms, one per line (for --help and error messages).
std::string data_spec_forms();

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace lethe::data
