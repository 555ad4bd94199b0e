// Every random stream of the project in one table: the `stream` argument of data::stream_key
// (data/random.h), so two uses of one seed never share a stream. The values are fixed: changing
// one changes every result drawn from it (splits, forget sets, batches, ...).
#pragma once
#include <cstdint>

namespace lethe::data {

enum Stream : uint64_t {
  // data/
  kShuffle = 1,    // loader: the order of an epoch's rows (epoch = the epoch)
  kAugment = 2,    // transforms: the crop offset and flip of a sample (epoch = the epoch)
  kSplit = 3,      // dataset: the seeded train/test split of folder/csv sources (per class)
  kForget = 4,     // forget SPECs: random:K (epoch 0) and class:C:K (epoch C + 1)
  kSynthetic = 5,  // synthetic:mixture: the sampled points
  // train/
  kTrainSubset = 11,                     // --subset: the training rows a run keeps
  kAdversarialTraining = 0x414456,       // "ADV": --adv-train's PGD starts (epoch = the step)
  kReferenceInclusion = 0x5245'0001,     // --reference-models: which models see which pool row
  kReferenceModel = 0x5245'0002,         // --reference-models: model k's seed (epoch = k)
  kSisaPartition = 0x5157'0001,          // SISA: the shard partition of the training set
  kSisaInit = 0x5157'0002,               // SISA: a shard model's initialization (epoch = shard)
  kSisaStage = 0x5157'0003,              // SISA: a stage's seed (epoch = shard << 32 | slice)
  kObjectivePerturbation = 0x4352'0001,  // "CR": --perturb's noise vector b (Guo et al. 2020)
  // eval/
  kReferenceMiaDraw = 0x5245'0003,    // LiRA/RMIA: the balanced member/non-member draws
  kThresholdMia = 0x5448524D4941ULL,  // "THRMIA": the threshold attacks' subsampling
  kSvcMia = 0x5356434D4941ULL,        // "SVCMIA": the SVC attack's subsampling
  kRobustSubsample = 0x524f42,        // "ROB": the rows --attack-samples keeps
  // unlearn/
  kUnlearnRequests = 21,    // --requests: the order in which the forget set is removed
  kProfileTrainRows = 31,   // lethe profile --method train: the rows of the steps
  kProfileRetainRows = 32,  // lethe profile: the --retain rows used
  kAmunOrder = 0xA3,        // amun: the shuffled stream of D_R ∪ D_F ∪ D_A (per epoch)
  kSalunLabels = 0x5a1,     // salun: random labels of the forget rows (per epoch)
  kRandomLabels = 0x524C,   // "RL", rl: random labels of the forget rows (per epoch)
  kBoundaryExpandingShadow = 0x4245,  // "BE", be: the shadow class row's initialization
  kTuneSearch = 0x54554E45,           // "TUNE": lethe tune --budget: the grid points drawn
};

// Streams under a key that is itself a stream_key of one of the streams above.
enum SubStream : uint64_t {
  kInclusionPerRow = 1,   // under kReferenceInclusion: one pool row's permutation (epoch = row)
  kMiaNonmemberDraw = 1,  // under kReferenceMiaDraw: the order of the non-members
  kMiaMemberDraw = 2,     // under kReferenceMiaDraw: the order of the members
};

}  // namespace lethe::data
