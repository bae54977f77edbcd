// LinkedTorch: from torch/version.h (a header of macros only) and model/CMakeLists.txt's
// ROUTESERVE_TORCH_CUDA.
#include "model/torch_build.h"

#include <torch/version.h>

namespace routeserve::model {

TorchBuild LinkedTorch() {
#ifdef ROUTESERVE_TORCH_CUDA
  return {TORCH_VERSION, true};
#else
  return {TORCH_VERSION, false};
#endif
}

}  // namespace routeserve::model
