// CSV: the raw reader, the tabular loader with its label and protected columns (default
// columns, and the first two header names as label/protected, with a threshold form), and the
// image-list form `path,label`.
#include "data/csv.h"
#include "data/image_folder.h"
#include "data/tabular.h"
#include "fuzz/fuzz_util.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file("csv/table.csv", data, size);
  fuzz::refusal_ok([&] {
    data::CsvTable t = data::read_csv(path);
    (void)data::load_tabular_csv(path, 0);
    if (t.rows.empty() || t.rows[0].size() < 2) return;
    data::TabularOptions o;
    o.label = t.rows[0][0];
    o.protected_col = t.rows[0][1];
    fuzz::refusal_ok([&] { (void)data::load_tabular_csv(path, 1, o); });
    o.protected_col = t.rows[0][1] + "<0.5";
    fuzz::refusal_ok([&] { (void)data::load_tabular_csv(path, 2, o); });
  });
  fuzz::refusal_ok([&] { (void)data::load_image_folder(path, 0); });
  return 0;
}
