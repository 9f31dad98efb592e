#include "commands/policy.hpp"

#include "commands/parser.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace releasebot::commands {
namespace {

using namespace std::string_view_literals;

template <typename Enum, std::size_t N>
using name_table = std::array<std::pair<Enum, std::string_view>, N>;

constexpr name_table<gate_requirement, 5> gate_names{{
    {gate_requirement::checklist, "checklist"},
    {gate_requirement::teams, "teams"},
    {gate_requirement::signoffs, "signoffs"},
    {gate_requirement::production, "production"},
    {gate_requirement::review_closed, "review_closed"},
}};

constexpr name_table<version_bump, 3> bump_names{{
    {version_bump::major, "major"},
    {version_bump::minor, "minor"},
    {version_bump::patch, "patch"},
}};

// Offsets and notice periods feed time-point arithmetic; a bound keeps that from overflowing.
constexpr std::chrono::days longest_period{3650};

template <typename Enum, std::size_t N>
std::optional<Enum> from_name(const name_table<Enum, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::vector<std::string_view> names_of(const name_table<Enum, N>& names) {
  std::vector<std::string_view> out;
  for (const auto& entry : names) out.push_back(entry.second);
  return out;
}

template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

template <typename Range>
std::string listing(const Range& words) {
  std::string out;
  for (const auto& word : words) out.append(out.empty() ? "" : ", ").append(word);
  return out;
}

template <typename Range>
std::string toml_list(const Range& words) {
  std::string out = "[";
  for (const auto& word : words) out.append(out.size() == 1 ? "\"" : ", \"").append(word).append("\"");
  return out + "]";
}

// Optimal string alignment distance: a swapped pair of letters counts as one typo.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

template <typename Range>
std::optional<std::string> closest(std::string_view word, const Range& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = std::string(candidate);
      best_distance = distance;
    }
  }
  return best;
}

// The fix for a name that is not one of `candidates`.
template <typename Range>
std::string pick_one_of(std::string_view word, const Range& candidates) {
  if (auto guess = closest(word, candidates)) return cat("did you mean '", *guess, "'?");
  return cat("use one of: ", listing(candidates));
}

// The fix for a name that is not one of `declared`, the list named `list_name`.
std::string declare_or_pick(std::string_view word, const std::vector<std::string>& declared,
                            std::string_view list_name) {
  if (auto guess = closest(word, declared)) {
    return cat("did you mean '", *guess, "'? Otherwise add '", word, "' to ", list_name);
  }
  return cat("add '", word, "' to ", list_name, " or use one of: ", listing(declared));
}

std::string_view describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "a list";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "a whole number";
    case toml::node_type::floating_point: return "a decimal number";
    case toml::node_type::boolean: return "true/false";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : cat(path, ".", key);
}

std::string element(std::string_view path, std::size_t index) {
  return cat(path, "[", std::to_string(index), "]");
}

std::string located_message(std::string_view file, const toml::source_region& where,
                            std::string_view path, std::string_view problem, std::string_view fix) {
  std::string message = cat(file, ":", std::to_string(where.begin.line), ":",
                            std::to_string(where.begin.column), ": ", path, ": ", problem, " — ", fix);
  // Keys and values may hold escaped newlines; the message must stay one line.
  std::replace_if(message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return message;
}

// toml::table keeps its keys sorted; types, permissions and the first reported error follow the file.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::ranges::stable_sort(entries, {}, [](const auto& entry) { return entry.first->source().begin; });
  return entries;
}

bool is_kebab_id(std::string_view id) {
  if (id.empty() || id.front() < 'a' || id.front() > 'z' || id.back() == '-') return false;
  char previous = 0;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && previous != '-');
    if (!ok) return false;
    previous = c;
  }
  return true;
}

// "24h", "90m", "2d", "1h30m"; a bare "0" is accepted as "at the moment".
std::optional<std::chrono::minutes> parse_offset(std::string_view text) {
  if (text == "0") return std::chrono::minutes{0};
  if (text.empty()) return std::nullopt;
  std::chrono::minutes total{0};
  while (!text.empty()) {
    std::uint32_t count = 0;
    const char* const end = text.data() + text.size();
    const auto [unit, error] = std::from_chars(text.data(), end, count);
    if (error != std::errc{} || unit == end) return std::nullopt;
    switch (*unit) {
      case 'd': total += std::chrono::days{count}; break;
      case 'h': total += std::chrono::hours{count}; break;
      case 'm': total += std::chrono::minutes{count}; break;
      default: return std::nullopt;
    }
    if (total > longest_period) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(unit - text.data()) + 1);
  }
  return total;
}

// A string from the policy with where it was written, for messages about it.
struct entry {
  std::string value;
  std::string path;
  toml::source_region where;
};

std::vector<std::string> values_of(const std::vector<entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.value);
  return out;
}

class policy_reader {
public:
  explicit policy_reader(std::string_view source) { out_.source = source; }

  policy read(const toml::table& root) {
    check_keys(root, "",
               {"roles", "coordinator_role", "environments", "production_environment",
                "readiness_teams", "cutoff_reminders", "nudges", "bound_to_build", "stages", "types", "permissions"});
    out_.roles = id_list(root, "", "roles", "role", R"(["release-coordinator", "qa"])");
    if (std::ranges::find(out_.roles, "anyone") != out_.roles.end()) {
      fail(root.get("roles")->source(), "roles", "'anyone' cannot be a role: in [permissions] it means no restriction",
           "name the role something else, e.g. \"staff\"");
    }
    out_.coordinator_role = role(text(root, "", "coordinator_role", R"("release-coordinator")"));
    out_.environments =
        id_list(root, "", "environments", "environment", R"(["alpha", "beta", "production"])");
    out_.production_environment = production(text(root, "", "production_environment", R"("production")"));
    out_.readiness_teams = id_list(root, "", "readiness_teams", "team", R"(["sales", "uat"])");
    read_reminders(root);
    read_nudges(root);
    read_bound_to_build(root);
    read_stages(root);
    read_types(root);
    read_permissions(root);
    return std::move(out_);
  }

private:
  [[noreturn]] void fail(const toml::source_region& where, std::string_view path,
                         std::string_view problem, std::string_view fix) const {
    throw policy_error(located_message(out_.source, where, path, problem, fix));
  }

  [[noreturn]] void fail(const entry& e, std::string_view problem, std::string_view fix) const {
    fail(e.where, e.path, problem, fix);
  }

  const toml::node& required(const toml::table& table, std::string_view path, std::string_view key,
                             std::string_view fix) const {
    if (const toml::node* node = table.get(key)) return *node;
    fail(table.source(), child(path, key), "required key is missing", fix);
  }

  template <typename T>
  const auto& expect(const toml::node& node, std::string_view path, std::string_view kind,
                     std::string_view fix) const {
    if (const auto* typed = node.as<T>()) return *typed;
    fail(node.source(), path, cat("must be ", kind, ", found ", describe(node)), fix);
  }

  entry text(const toml::table& table, std::string_view path, std::string_view key,
             std::string_view example) const {
    const std::string fix = cat("write ", key, " = ", example);
    const std::string key_path = child(path, key);
    const toml::node& node = required(table, path, key, fix);
    return {expect<std::string>(node, key_path, "a string", fix).get(), key_path, node.source()};
  }

  std::optional<entry> optional_text(const toml::table& table, std::string_view path,
                                     std::string_view key, std::string_view example) const {
    if (!table.contains(key)) return std::nullopt;
    return text(table, path, key, example);
  }

  bool optional_flag(const toml::table& table, std::string_view path, std::string_view key,
                     bool fallback) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) return fallback;
    return expect<bool>(*node, child(path, key), "true or false", cat("write ", key, " = true or false")).get();
  }

  std::int64_t integer(const toml::table& table, std::string_view path, std::string_view key,
                       std::string_view example) const {
    const std::string fix = cat("write ", key, " = ", example);
    return expect<std::int64_t>(required(table, path, key, fix), child(path, key), "a whole number", fix).get();
  }

  // `if_empty` (a fix) makes an empty list an error.
  std::vector<entry> texts(const toml::table& table, std::string_view path, std::string_view key,
                           std::string_view example, std::string_view if_empty = {}) const {
    const std::string fix = cat("write ", key, " = ", example);
    const std::string key_path = child(path, key);
    const auto& list = expect<toml::array>(required(table, path, key, fix), key_path, "a list of strings", fix);
    if (list.empty() && !if_empty.empty()) fail(list.source(), key_path, "empty list", if_empty);
    std::vector<entry> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = element(key_path, i);
      out.push_back({expect<std::string>(list[i], item_path, "a string", fix).get(), item_path, list[i].source()});
    }
    return out;
  }

  const toml::array& tables(const toml::table& table, std::string_view path, std::string_view key,
                            std::string_view fix) const {
    const auto& list = expect<toml::array>(required(table, path, key, fix), child(path, key), "a list of tables", fix);
    for (std::size_t i = 0; i < list.size(); ++i) {
      expect<toml::table>(list[i], element(child(path, key), i), "a table", fix);
    }
    return list;
  }

  void check_keys(const toml::table& table, std::string_view path,
                  std::initializer_list<std::string_view> known) const {
    for (const auto& [key, node] : in_file_order(table)) {
      if (std::ranges::find(known, key->str()) != known.end()) continue;
      const auto guess = closest(key->str(), known);
      fail(key->source(), child(path, key->str()), cat("unknown key '", key->str(), "'"),
           guess ? cat("did you mean '", *guess, "'?") : cat("remove it; the keys here are: ", listing(known)));
    }
  }

  void check_id(const entry& id, std::string_view noun) const {
    if (is_kebab_id(id.value)) return;
    fail(id, cat("'", id.value, "' is not a valid ", noun, " id"),
         "use lower-case letters and digits joined by single dashes, starting with a letter (e.g. \"dev-lead\")");
  }

  void check_unique(const std::vector<entry>& entries, std::string_view noun) const {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (entries[i].value != entries[j].value) continue;
        fail(entries[i], cat("duplicate ", noun, " '", entries[i].value, "' (first at line ",
                             std::to_string(entries[j].where.begin.line), ")"),
             "remove one of them or give it another id");
      }
    }
  }

  std::string role(const entry& e) const {
    if (out_.has_role(e.value)) return e.value;
    fail(e, cat("'", e.value, "' is not declared in roles, so it is a role nobody can hold"),
         declare_or_pick(e.value, out_.roles, "roles"));
  }

  std::string production(const entry& e) const {
    if (out_.has_environment(e.value)) return e.value;
    fail(e, cat("'", e.value, "' is not one of the environments"),
         declare_or_pick(e.value, out_.environments, "environments"));
  }

  // Every entry names one of `order` (declared in `declared_in`), each at most once and in that order.
  void check_known_in_order(const std::vector<entry>& entries, const std::vector<std::string>& order,
                            std::string_view noun, std::string_view declared_in, std::string_view key) const {
    const auto position = [&](const entry& e) {
      return std::ranges::find(order, e.value) - order.begin();
    };
    for (const auto& e : entries) {
      if (position(e) == std::ssize(order)) {
        fail(e, cat("unknown ", noun, " '", e.value, "' (not in ", declared_in, ")"), pick_one_of(e.value, order));
      }
    }
    check_unique(entries, noun);
    for (std::size_t i = 1; i < entries.size(); ++i) {
      if (position(entries[i]) > position(entries[i - 1])) continue;
      auto sorted = values_of(entries);
      std::ranges::sort(sorted, {}, [&](const std::string& id) { return std::ranges::find(order, id) - order.begin(); });
      fail(entries[i], cat(noun, " '", entries[i].value, "' is out of order: it comes before '",
                           entries[i - 1].value, "' in ", declared_in),
           cat("write ", key, " = ", toml_list(sorted)));
    }
  }

  std::vector<std::string> id_list(const toml::table& table, std::string_view path, std::string_view key,
                                   std::string_view noun, std::string_view example) const {
    const auto entries = texts(table, path, key, example);
    for (const auto& e : entries) check_id(e, noun);
    check_unique(entries, noun);
    return values_of(entries);
  }

  std::vector<std::string> role_list(const toml::table& table, std::string_view path, std::string_view key,
                                     std::string_view example) const {
    const auto entries = texts(table, path, key, example);
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(role(e));
    check_unique(entries, "role");
    return out;
  }

  void read_reminders(const toml::table& root) {
    for (const auto& e : texts(root, "", "cutoff_reminders", R"(["24h", "1h", "0m"])")) {
      const auto offset = parse_offset(e.value);
      if (!offset) {
        fail(e, cat("'", e.value, "' is not a reminder offset"),
             "write a number and a unit d, h or m, at most 3650d, e.g. \"24h\", \"90m\", \"2d\" or \"0m\"");
      }
      out_.cutoff_reminders.push_back(*offset);
    }
  }

  // [bound_to_build] role = ["uat", "alpha"]: the role approves the build on the first of these
  // environments that is on the release's path.
  void read_bound_to_build(const toml::table& root) {
    const toml::node* node = root.get("bound_to_build");
    if (node == nullptr) return;
    const auto& table = expect<toml::table>(*node, "bound_to_build", "a table",
                                            "write [bound_to_build] with qa = [\"uat\", \"alpha\"]");
    for (const auto& [key, value] : in_file_order(table)) {
      const entry role_entry{std::string{key->str()}, child("bound_to_build", key->str()), key->source()};
      const auto bound_role = role(role_entry);
      std::vector<std::string> environments;
      for (const auto& e : texts(table, "bound_to_build", key->str(), R"(["uat", "alpha"])", "name its environments")) {
        environments.push_back(production(e));
      }
      out_.bound_to_build[bound_role] = std::move(environments);
    }
  }

  void read_nudges(const toml::table& root) {
    const toml::node* node = root.get("nudges");
    if (node == nullptr) return;
    const auto& table = expect<toml::table>(*node, "nudges", "a table", "write [nudges] with after, working_hours, "
                                                                        "working_days and escalate_after");
    check_keys(table, "nudges", {"after", "working_hours", "working_days", "escalate_after"});
    auto& nudges = out_.nudges;
    if (const auto after = optional_text(table, "nudges", "after", R"("24h")")) {
      const auto offset = parse_offset(after->value);
      if (!offset || offset->count() == 0) {
        fail(*after, cat("'", after->value, "' is not a waiting time"), "write a number and a unit d, h or m, e.g. \"24h\"");
      }
      nudges.after = *offset;
    }
    if (const auto hours = optional_text(table, "nudges", "working_hours", R"("09:00-17:00")")) {
      unsigned h1 = 0, m1 = 0, h2 = 0, m2 = 0;
      char tail = 0;
      if (std::sscanf(hours->value.c_str(), "%2u:%2u-%2u:%2u%c", &h1, &m1, &h2, &m2, &tail) != 4 || h1 > 23 ||
          h2 > 24 || m1 > 59 || m2 > 59 || h1 * 60 + m1 >= h2 * 60 + m2) {
        fail(*hours, cat("'", hours->value, "' is not a span of working hours"),
             "write HH:MM-HH:MM with the start before the end, e.g. \"09:00-17:00\"");
      }
      nudges.day_start = std::chrono::minutes{h1 * 60 + m1};
      nudges.day_end = std::chrono::minutes{h2 * 60 + m2};
    }
    if (table.contains("working_days")) {
      static constexpr std::array<std::string_view, 7> names{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
      nudges.working_days.clear();
      for (const auto& day : texts(table, "nudges", "working_days", R"(["mon", "tue", "wed", "thu", "fri"])",
                                   "name at least one day")) {
        const auto at = std::find(names.begin(), names.end(), day.value);
        if (at == names.end()) fail(day, cat("'", day.value, "' is not a day"), "use mon, tue, wed, thu, fri, sat or sun");
        nudges.working_days.push_back(static_cast<unsigned>(at - names.begin()) + 1);
      }
    }
    if (table.contains("escalate_after")) {
      const auto count = integer(table, "nudges", "escalate_after", "2");
      if (count < 1 || count > 100) {
        fail(table.get("escalate_after")->source(), "nudges.escalate_after", "must be between 1 and 100",
             "write escalate_after = 2");
      }
      nudges.escalate_after = static_cast<int>(count);
    }
  }

  void read_stages(const toml::table& root) {
    const auto& list = tables(root, "", "stages", "add each stage as a [[stages]] table with id, name and gate");
    if (list.empty()) fail(list.source(), "stages", "no stages", "add at least one [[stages]] table");
    std::vector<entry> ids;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = element("stages", i);
      const auto& table = *list[i].as_table();
      check_keys(table, path, {"id", "name", "gate", "checklist"});
      ids.push_back(text(table, path, "id", R"("planning")"));
      check_id(ids.back(), "stage");
      stage_definition stage;
      stage.id = ids.back().value;
      stage.name = text(table, path, "name", R"("Planning")").value;
      stage.gate = read_gate(table, path);
      stage.checklist = read_checklist(table, path);
      out_.stages.push_back(std::move(stage));
    }
    check_unique(ids, "stage");
  }

  std::vector<gate_requirement> read_gate(const toml::table& stage, std::string_view path) const {
    const auto entries = texts(stage, path, "gate", R"(["checklist"])");
    std::vector<gate_requirement> gate;
    for (const auto& e : entries) {
      const auto requirement = gate_requirement_from_string(e.value);
      if (!requirement) {
        fail(e, cat("unknown gate requirement '", e.value, "'"), pick_one_of(e.value, names_of(gate_names)));
      }
      gate.push_back(*requirement);
    }
    check_unique(entries, "gate requirement");
    return gate;
  }

  std::vector<checklist_item> read_checklist(const toml::table& stage, std::string_view path) const {
    if (!stage.contains("checklist")) return {};
    const std::string list_path = child(path, "checklist");
    const auto& list = tables(stage, path, "checklist", "add each item as a [[stages.checklist]] table with id and text");
    std::vector<entry> ids;
    std::vector<checklist_item> items;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = element(list_path, i);
      const auto& table = *list[i].as_table();
      check_keys(table, item_path, {"id", "text", "owner"});
      ids.push_back(text(table, item_path, "id", R"("kb-updated")"));
      check_id(ids.back(), "checklist item");
      checklist_item item;
      item.id = ids.back().value;
      item.text = text(table, item_path, "text", R"("Knowledge base updated")").value;
      if (const auto owner = optional_text(table, item_path, "owner", R"("qa")")) item.owner_role = role(*owner);
      items.push_back(std::move(item));
    }
    check_unique(ids, "checklist item");
    return items;
  }

  void read_types(const toml::table& root) {
    const auto& types = expect<toml::table>(
        required(root, "", "types", "add a [types.<id>] table for each release type"), "types", "a table",
        "write each release type as a [types.<id>] table");
    if (types.empty()) fail(types.source(), "types", "no release types", "add at least one [types.<id>] table");
    for (const auto& [key, node] : in_file_order(types)) {
      const entry id{std::string(key->str()), child("types", key->str()), key->source()};
      check_id(id, "release type");
      const auto& table = expect<toml::table>(*node, id.path, "a table", cat("write it as a [types.", id.value, "] table"));
      out_.types.push_back(read_type(id, table));
    }
  }

  release_type_definition read_type(const entry& id, const toml::table& table) const {
    const std::string& path = id.path;
    check_keys(table, path,
               {"description", "stages", "path", "signoffs", "notice_days", "bump", "retroactive_signoffs"});
    release_type_definition type;
    type.id = id.value;
    type.description = text(table, path, "description", R"("Small but critical changes")").value;

    const auto stages = texts(table, path, "stages", R"(["planning", "signoff", "deployment"])",
                              "list the stage ids this type walks, from [[stages]]");
    check_known_in_order(stages, stage_ids(), "stage", "[[stages]]", "stages");
    type.stages = values_of(stages);

    const auto route = texts(table, path, "path", R"(["alpha", "beta", "production"])",
                             cat("list the environments it is deployed to, ending with \"",
                                 out_.production_environment, "\""));
    check_known_in_order(route, out_.environments, "environment", "environments", "path");
    if (route.back().value != out_.production_environment) {
      fail(route.back(), cat("ends at '", route.back().value, "', not at the production environment '",
                             out_.production_environment, "'"),
           cat("end the path with \"", out_.production_environment, "\""));
    }
    type.path = values_of(route);

    type.required_signoffs = role_list(table, path, "signoffs", R"(["qa", "dev-lead"])");

    const auto notice = integer(table, path, "notice_days", "7");
    if (notice < 0 || notice > longest_period.count()) {
      fail(table.get("notice_days")->source(), child(path, "notice_days"),
           cat(notice < 0 ? "negative" : "too long a", " notice period (", std::to_string(notice), " days)"),
           "use 0 for no notice, or a number of days up to 3650");
    }
    type.notice_period = std::chrono::days{notice};

    const auto bump = text(table, path, "bump", R"("minor")");
    const auto parsed_bump = from_name(bump_names, bump.value);
    if (!parsed_bump) {
      fail(bump, cat("unknown version bump '", bump.value, "'"), pick_one_of(bump.value, names_of(bump_names)));
    }
    type.bump = *parsed_bump;
    type.retroactive_signoffs = optional_flag(table, path, "retroactive_signoffs", false);
    return type;
  }

  // Each family is one of: `deploy = "anyone"`, `deploy = ["infra", "qa"]`, or a table
  // [permissions.deploy] with roles (a list or "anyone") and release_coordinator. Every family a
  // command names must be there: a family left out would otherwise be open, or silently shut.
  void read_permissions(const toml::table& root) {
    const auto& families = command_families();
    const auto& table = expect<toml::table>(
        required(root, "", "permissions", permissions_fix(families.front())),
        "permissions", "a table", "write each command family as a key of [permissions]");
    for (const auto& [key, node] : in_file_order(table)) {
      const std::string family{key->str()};
      const std::string path = child("permissions", family);
      if (std::ranges::find(families, family) == families.end()) {
        fail(key->source(), path, cat("unknown command family '", family, "'"), pick_one_of(family, families));
      }
      permission rule{family, {}, true, false};
      if (const auto* rules = node->as_table()) {
        check_keys(*rules, path, {"roles", "release_coordinator"});
        read_who(*rules, path, "roles", rule);
        rule.release_coordinator_may = optional_flag(*rules, path, "release_coordinator", true);
      } else {
        read_who(table, "permissions", family, rule);
      }
      out_.permissions.push_back(std::move(rule));
    }
    for (const auto& family : families) {
      if (out_.find_permission(family) != nullptr) continue;
      fail(table.source(), child("permissions", family),
           cat("no rule for the command family '", family, "' (", listing(commands_of_family(family)), ")"),
           permissions_fix(family));
    }
  }

  static std::string permissions_fix(std::string_view family) {
    return cat("add ", family, " = [\"release-coordinator\"] (the roles that may) or ", family,
               " = \"anyone\" under [permissions]");
  }

  // `key` holds either "anyone" or a list of roles.
  void read_who(const toml::table& table, std::string_view path, std::string_view key, permission& rule) const {
    const toml::node* node = table.get(key);
    if (node != nullptr && node->is_string()) {
      const auto& text = node->as_string()->get();
      if (text != "anyone") {
        fail(node->source(), child(path, key), cat("'", text, "' is neither \"anyone\" nor a list of roles"),
             cat("write ", key, " = \"anyone\" or ", key, " = [\"", text, "\"]"));
      }
      rule.anyone = true;
      return;
    }
    rule.roles = role_list(table, path, key, R"(["release-coordinator"] or "anyone")");
  }

  std::vector<std::string> stage_ids() const {
    std::vector<std::string> ids;
    for (const auto& stage : out_.stages) ids.push_back(stage.id);
    return ids;
  }

  policy out_;
};

template <typename Item>
const Item* find_by_id(const std::vector<Item>& items, std::string_view id) {
  const auto it = std::ranges::find_if(items, [&](const Item& item) { return item.id == id; });
  return it == items.end() ? nullptr : &*it;
}

bool contains(const std::vector<std::string>& ids, std::string_view id) {
  return std::ranges::find(ids, id) != ids.end();
}

}  // namespace

const stage_definition* policy::find_stage(std::string_view id) const { return find_by_id(stages, id); }

const release_type_definition* policy::find_type(std::string_view id) const { return find_by_id(types, id); }

const permission* policy::find_permission(std::string_view command) const {
  const auto it = std::ranges::find(permissions, command, &permission::command);
  return it == permissions.end() ? nullptr : &*it;
}

bool policy::has_role(std::string_view id) const { return contains(roles, id); }

bool policy::has_environment(std::string_view id) const { return contains(environments, id); }

std::optional<std::string> policy::bound_environment(const release_type_definition& type, std::string_view role) const {
  const auto found = bound_to_build.find(std::string{role});
  if (found == bound_to_build.end()) return std::nullopt;
  for (const auto& environment : found->second) {
    if (contains(type.path, environment)) return environment;
  }
  return std::nullopt;
}

bool policy::has_team(std::string_view id) const { return contains(readiness_teams, id); }

int policy::stage_index(std::string_view id) const {
  const stage_definition* stage = find_stage(id);
  return stage == nullptr ? -1 : static_cast<int>(stage - stages.data());
}

policy parse_policy(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    throw policy_error(located_message(source_name, error.source(), "syntax error", error.description(),
                                       "correct the TOML at that line and column"));
  }
  return policy_reader(source_name).read(root);
}

policy load_policy(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ignored;
  if (std::filesystem::is_directory(file, ignored)) {
    throw policy_error(cat(name, ": is a directory, not a policy file — point the configuration at the policy .toml file"));
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw policy_error(cat(name, ": cannot read the policy file (",
                           error != 0 ? std::generic_category().message(error) : "open failed",
                           ") — check that the path in the configuration exists and is readable"));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    throw policy_error(cat(name, ": reading the policy file failed — check the file and its permissions"));
  }
  return parse_policy(text, name);
}

std::string_view to_string(gate_requirement requirement) {
  for (const auto& [value, name] : gate_names) {
    if (value == requirement) return name;
  }
  return "unknown";
}

std::optional<gate_requirement> gate_requirement_from_string(std::string_view text) {
  return from_name(gate_names, text);
}

}  // namespace releasebot::commands
