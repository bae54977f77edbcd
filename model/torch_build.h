// LinkedTorch(): the LibTorch this build links, as build_info reports it (metrics/): its
// version and whether it was built with CUDA. A plain function, so that its callers include no
// LibTorch header.
#pragma once

#include <string>

namespace routeserve::model {

struct TorchBuild {
  std::string version;  // "1.13.0": TORCH_VERSION of the headers built against
  bool cuda = false;    // built with CUDA (c10_cuda found), whatever devices this machine has
};

TorchBuild LinkedTorch();

}  // namespace routeserve::model
