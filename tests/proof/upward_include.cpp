// Proof that the layer roots enforce the layer rule: compiled with only eval's include root
// (build/<preset>/layers/eval), this include of a higher layer must fail to resolve.
#include "train/trainer.h"
