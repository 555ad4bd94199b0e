// Run directories (DESIGN.md): config.json, model.safetensors, metrics.json, log.jsonl, ...
// Every result file is written to a temporary name and renamed, so a crash never leaves a
// half-written result; an existing run directory is never overwritten unless asked.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::io {

// Creates DIR (and parents). If DIR already holds results (metrics.json or
// model.safetensors) and !overwrite, throws an error naming DIR and the option. With
// `resuming` (--resume), only a finished run counts: metrics.json written and no
// resume.safetensors left (a kill between the last writes must not block the resume).
void prepare_run_dir(const std::string& dir, bool overwrite, const std::string& option = "--out",
                     bool resuming = false);

// Atomic write of text (temp file in the same directory, fsync, rename).
void write_text_atomic(const std::string& path, const std::string& text);
void write_json_atomic(const std::string& path, const nlohmann::json& j);
// A CSV field: as is, or quoted (quotes doubled) when it holds a comma, quote or newline.
std::string csv_field(const std::string& s);
// One JSON object per line, appended and flushed (logs are append-only by nature).
void append_jsonl(const std::string& path, const nlohmann::json& j);
nlohmann::json read_json(const std::string& path);
// The JSON record `run_dir/subdir/file` that an option of the original training wrote
// (`trained_with`, e.g. "--sisa S:R"); a one-line error says which option is missing when the
// folder is absent, and that the training did not finish when only the file is.
nlohmann::json read_run_record(const std::string& run_dir, const std::string& subdir,
                               const std::string& file, const std::string& trained_with);

}  // namespace lethe::io
