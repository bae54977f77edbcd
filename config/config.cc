// Reading and writing the server's configuration (config/config.h): one schema lists every
// section and key with how its value is read, checked and written back (config/config_keys.h),
// so ParseConfig, the --set overrides and ConfigToYaml cannot disagree about a key.
//
// yaml-cpp throws; its exceptions stop in ParseConfigText and become InvalidArgument statuses.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "routing/validation.h"
#include "config/config_keys.h"
#include "config/served_models.h"
#include "config/schema.h"

namespace routeserve::config {
namespace {

using keys::ConfigEntry;
using keys::Describe;
using keys::DoubleQuoted;
using keys::ValueShape;

const ConfigEntry* FindEntry(const std::vector<ConfigEntry>& entries, absl::string_view name) {
  for (const ConfigEntry& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::string EntryNames(const std::vector<ConfigEntry>& entries) {
  return absl::StrJoin(entries, ", ",
                       [](std::string* out, const ConfigEntry& e) { out->append(e.name); });
}

// "section.key" from a section's dotted name ("" at the top) and a name in it.
std::string Dotted(absl::string_view prefix, absl::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
}

// "server.adress: unknown key (server has address, ...)" or "metrics: unknown section (...)".
std::string UnknownEntryMessage(absl::string_view key, absl::string_view prefix,
                                const std::vector<ConfigEntry>& known) {
  if (prefix.empty()) {
    return absl::StrCat(key, ": unknown section (sections: ", EntryNames(known), ")");
  }
  return absl::StrCat(key, ": unknown key (", prefix, " has ", EntryNames(known), ")");
}

// ---------------------------------------------------------------------------------------------
// Reading a YAML tree against the schema.

class ConfigReader {
 public:
  // `overridden`: the dotted keys whose values came from --set, not from the file.
  explicit ConfigReader(const std::set<std::string>& overridden) : overridden_(overridden) {}

  // Reads `node`, the section named `prefix` ("" for the whole file) with `entries`, into
  // `config`; an empty section keeps the defaults. `where` locates the section's name.
  absl::Status ReadSection(const YAML::Node& node, const std::vector<ConfigEntry>& entries,
                           const std::string& prefix, const YAML::Mark& where,
                           Config& config) const {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      if (prefix.empty()) {
        return Error("config", where,
                     absl::StrCat("expected a map of sections (", EntryNames(entries), "), got ",
                                  Describe(node)));
      }
      return Error(
          prefix, where,
          absl::StrCat("expected a map of keys (", EntryNames(entries), "), got ", Describe(node)));
    }
    std::set<std::string> seen;
    for (const auto& item : node) {
      // Errors point at the key's line: a value's own mark is off for an empty value.
      const YAML::Mark key_mark = item.first.Mark();
      if (!item.first.IsScalar()) {
        return Error(prefix.empty() ? "config" : prefix, key_mark,
                     absl::StrCat("expected names as keys, got ", Describe(item.first)));
      }
      const std::string key = Dotted(prefix, item.first.Scalar());
      if (!seen.insert(key).second) return Error(key, key_mark, "duplicate key");
      const ConfigEntry* entry = FindEntry(entries, item.first.Scalar());
      if (entry == nullptr) {
        return Located(UnknownEntryMessage(key, prefix, entries), key, key_mark);
      }
      if (entry->is_section()) {
        absl::Status status = ReadSection(item.second, entry->entries, key, key_mark, config);
        if (!status.ok()) return status;  // its errors carry their keys already
      } else if (absl::Status status = entry->read(item.second, config); !status.ok()) {
        return Error(key, key_mark, status.message());
      }
    }
    return absl::OkStatus();
  }

 private:
  // "key: message", or "key[2]: message" for an error in a list's element (config_keys.h).
  absl::Status Error(const std::string& key, const YAML::Mark& where,
                     absl::string_view message) const {
    const bool element = absl::StartsWith(message, "[");
    return Located(absl::StrCat(key, element ? "" : ": ", message), key, where);
  }

  // `message` followed by where `key` came from: "(from --set)" or "(line 7)".
  absl::Status Located(std::string message, const std::string& key, const YAML::Mark& where) const {
    if (overridden_.count(key) > 0) {
      absl::StrAppend(&message, " (from --set)");
    } else if (where.line >= 0) {
      absl::StrAppend(&message, " (line ", where.line + 1, ")");
    }
    return absl::InvalidArgumentError(message);
  }

  const std::set<std::string>& overridden_;
};

// ---------------------------------------------------------------------------------------------
// Overrides.

// Applies `override_text` ("section.key=value") to `root` and adds its key to `overridden`.
// Long, in one piece: the text's parse, the key's lookup through the schema and the node's
// placement are one step each, and each has its own errors naming the override.
absl::Status ApplyOverride(absl::string_view override_text, YAML::Node& root,
                           std::set<std::string>& overridden) {
  const std::size_t equals = override_text.find('=');
  if (equals == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", DoubleQuoted(override_text),
                                                   ": expected section.key=value, found no '='"));
  }
  const std::string key(absl::StripAsciiWhitespace(override_text.substr(0, equals)));
  const std::string value_text(override_text.substr(equals + 1));
  const std::vector<absl::string_view> path = absl::StrSplit(key, '.');
  for (const absl::string_view name : path) {
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--set ", DoubleQuoted(override_text),
          key.empty() ? ": empty key" : ": empty name in the key", ", expected section.key=value"));
    }
  }

  // The key must name a value in the schema.
  const std::vector<ConfigEntry>* entries = &Schema();
  const ConfigEntry* entry = nullptr;
  std::string prefix;
  for (std::size_t i = 0; i < path.size(); ++i) {
    entry = FindEntry(*entries, path[i]);
    if (entry == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(UnknownEntryMessage(key, prefix, *entries), " (from --set)"));
    }
    prefix = Dotted(prefix, path[i]);
    const bool last = i + 1 == path.size();
    if (entry->is_section() && last) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": is a section; set its keys one by one (", key, ".",
                       entry->entries.front().name, "=...) (from --set)"));
    }
    if (!entry->is_section() && !last) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": unknown key (", prefix, " is a value, not a section) (from --set)"));
    }
    entries = &entry->entries;
  }

  // The value must be one YAML scalar (or nothing, which the key's reader then rejects); a list
  // key also takes a list (its reader rejects a scalar).
  const bool list_key = entry->shape == ValueShape::kList;
  YAML::Node value;
  bool single_value = false;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(value_text);
    single_value = documents.empty() ||
                   (documents.size() == 1 &&
                    (documents[0].IsScalar() || documents[0].IsNull() ||
                     (list_key && documents[0].IsSequence())));
    if (!documents.empty()) value.reset(documents[0]);
  } catch (const YAML::ParserException&) {
    single_value = false;
  }
  if (!single_value) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, ": --set value ", DoubleQuoted(value_text), " is not a single YAML value; ",
        list_key ? absl::StrCat("write a list as --set '", key, "=[8,16,32]'")
                 : absl::StrCat("quote it, e.g. --set '", key, "=\"", value_text, "\"'")));
  }

  // Place it in the tree, making the sections on the way. Rebinding walks the tree (reset);
  // assigning would overwrite the nodes on the way.
  YAML::Node section;
  section.reset(root);
  std::string section_key;  // "" for the whole file
  for (std::size_t i = 0;; ++i) {
    if (section.IsDefined() && !section.IsNull() && !section.IsMap()) {
      // The file has a value where a section goes; say so as its reading would.
      return absl::InvalidArgumentError(
          absl::StrCat(section_key.empty() ? "config: expected a map of sections"
                                           : absl::StrCat(section_key, ": expected a map of keys"),
                       ", got ", Describe(section)));
    }
    if (i + 1 == path.size()) break;
    section_key = Dotted(section_key, path[i]);
    section.reset(section[std::string(path[i])]);
  }
  section[std::string(path.back())] = value;
  overridden.insert(key);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Checks across keys, once every key is read.

absl::Status CheckAcrossKeys(const Config& config) {
  if (config.limits.max_message_bytes != 0 && config.limits.max_message_bytes < kMinMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limits.max_message_bytes: must be 0 (derived from limits.max_stops) or >= ",
        kMinMessageBytes, ", got ", config.limits.max_message_bytes));
  }
  if (!config.model.repository.empty() && !config.model.path.empty()) {
    return absl::InvalidArgumentError(
        "model.repository: a model comes from model.path or from model.repository, not both: "
        "empty one of them");
  }
  if (!config.model.repository.empty() && config.model.name.empty()) {
    return absl::InvalidArgumentError(
        "model.name: model.repository needs the name of the model to serve from it");
  }
  if (config.model.repository.empty() &&
      (!config.model.name.empty() || config.model.version || config.model.shadow_version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        !config.model.name.empty() ? "model.name"
        : config.model.version    ? "model.version"
                                  : "model.shadow_version",
        ": only with model.repository (a model directory goes in model.path)"));
  }
  if (absl::StatusOr<std::vector<ServedModel>> served = ServedModels(config); !served.ok()) {
    return served.status();
  }
  const int largest_bucket = config.batching.buckets.empty() ? 0 : config.batching.buckets.back();
  if (largest_bucket < config.limits.max_stops) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batching.buckets: the largest bucket, ", largest_bucket,
        " stops, must hold limits.max_stops, ", config.limits.max_stops,
        ": add a bucket of at least ", config.limits.max_stops, " or lower limits.max_stops"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Entry points.

// ParseConfig, with `source` (the file's path, or "" for text) named in syntax errors.
absl::StatusOr<Config> ParseConfigText(const std::string& yaml_text,
                                       const std::vector<std::string>& overrides,
                                       absl::string_view source) {
  const std::string source_prefix = source.empty() ? "" : absl::StrCat(source, ": ");
  try {
    YAML::Node root(YAML::NodeType::Null);  // a node of its own, which overrides can fill
    try {
      const std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
      if (documents.size() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_prefix, "expected one YAML document, found ", documents.size()));
      }
      if (!documents.empty()) root.reset(documents[0]);
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(absl::StrCat(source_prefix, "YAML syntax error at line ",
                                                     e.mark.line + 1, ", column ",
                                                     e.mark.column + 1, ": ", e.msg));
    }
    std::set<std::string> overridden;
    for (const std::string& override_text : overrides) {
      if (absl::Status status = ApplyOverride(override_text, root, overridden); !status.ok()) {
        return status;
      }
    }
    Config config;
    const ConfigReader reader(overridden);
    if (absl::Status status = reader.ReadSection(root, Schema(), "", root.Mark(), config);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = CheckAcrossKeys(config); !status.ok()) return status;
    return config;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_prefix, "config: ", e.what()));
  }
}

void WriteEntries(const std::vector<ConfigEntry>& entries, const Config& config, int depth,
                  std::string& yaml) {
  const std::string indent(2 * depth, ' ');
  for (const ConfigEntry& entry : entries) {
    if (entry.is_section()) {
      absl::StrAppend(&yaml, indent, entry.name, ":\n");
      WriteEntries(entry.entries, config, depth + 1, yaml);
    } else {
      absl::StrAppend(&yaml, indent, entry.name, ": ", entry.write(config), "\n");
    }
  }
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::vector<std::string>& overrides) {
  return ParseConfigText(yaml_text, overrides, /*source=*/"");
}

absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (!error && !exists) {
    return absl::NotFoundError(absl::StrCat("config file ", DoubleQuoted(path), ": not found"));
  }
  if (!error && std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", DoubleQuoted(path), ": is a directory"));
  }
  std::ifstream file(path, std::ios::binary);
  if (error || !file.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", DoubleQuoted(path), ": cannot be read",
                     error ? absl::StrCat(" (", error.message(), ")") : ""));
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", DoubleQuoted(path), ": read failed"));
  }
  return ParseConfigText(text, overrides, path);
}

int Config::Limits::MessageBytesLimit() const {
  if (max_message_bytes > 0) return max_message_bytes;
  // What a request of max_stops stops can need on the wire: 512 bytes a stop (two ids of a few
  // dozen bytes, position, kind, window, service, load), a full travel-time matrix in its
  // longest encoding (a tag and a double, 9 bytes, an entry; courier, stops and end position
  // square), and 4 KiB for the courier and the rest.
  constexpr int64_t kBytesOutsideStops = 4096;
  constexpr int64_t kBytesPerStop = 512;
  constexpr int64_t kBytesPerMatrixEntry = 9;
  const int64_t side = static_cast<int64_t>(max_stops) + 2;
  return static_cast<int>(kBytesOutsideStops + kBytesPerStop * max_stops +
                          kBytesPerMatrixEntry * side * side);
}

std::string ConfigToYaml(const Config& config) {
  std::string yaml;
  WriteEntries(Schema(), config, /*depth=*/0, yaml);
  return yaml;
}

}  // namespace routeserve::config
