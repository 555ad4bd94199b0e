// Forget specs (`random:F`, `random:N`, `class:C[:F]`, `file:PATH`) and forget files (one
// training index per line): the first line of the input is the spec, the rest the file that a
// `file:` spec names.
#include "data/forget.h"
#include "fuzz/fuzz_util.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  std::string spec = text.substr(0, nl);
  const std::string rest = nl == std::string::npos ? "" : text.substr(nl + 1);
  const std::string path = fuzz::write_file(
      "forget/forget.txt", reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
  static const data::Dataset d = [] {
    data::Dataset s;
    s.images = Tensor::zeros({40, 3}, DType::F32);
    std::vector<int64_t> y(40);
    for (int64_t i = 0; i < 40; ++i) y[i] = i % 4;
    s.labels = Tensor::from_vector_i64({40}, y);
    s.num_classes = 4;
    return s;
  }();
  if (spec == "file") spec = "file:" + path;
  fuzz::refusal_ok([&] { (void)data::make_forget_split(spec, d, 7); });
  fuzz::refusal_ok([&] { (void)data::make_forget_split("file:" + path, d, 7); });
  fuzz::refusal_ok([&] { (void)data::read_index_file(path, 40); });
  return 0;
}
