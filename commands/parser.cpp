#include "commands/parser.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

namespace releasebot::commands {

namespace {

using args = std::vector<std::string>;

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Chat clients turn quotes into typographic ones; the grammar means the ASCII ones.
std::string normalize_quotes(std::string_view text) {
  static const std::pair<std::string_view, std::string_view> replacements[] = {
      {"\u201c", "\""}, {"\u201d", "\""}, {"\u201e", "\""}, {"\u2018", "'"},
      {"\u2019", "'"},  {"\u00a0", " "},  {"\u2014", "--"}};
  std::string out{text};
  for (const auto& [from, to] : replacements) {
    for (auto pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + to.size())) {
      out.replace(pos, from.size(), to);
    }
  }
  return out;
}

[[noreturn]] void fail(std::string problem) { throw parse_error{std::move(problem), {}}; }

std::string take(args& rest, std::string_view what) {
  if (rest.empty()) fail("missing " + std::string{what});
  std::string value = std::move(rest.front());
  rest.erase(rest.begin());
  return value;
}

std::string take_lower(args& rest, std::string_view what) { return lower(take(rest, what)); }

std::string join(const args& words) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += ' ';
    text += word;
  }
  return text;
}

std::string take_rest(args& rest) {
  std::string text = join(rest);
  rest.clear();
  return text;
}

std::string take_required_rest(args& rest, std::string_view what) {
  if (rest.empty()) fail("missing " + std::string{what});
  return take_rest(rest);
}

int to_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 0 || value > 100000) {
    fail(std::string{what} + " must be a whole number, not '" + std::string{text} + "'");
  }
  return value;
}

std::string one_of(std::string value, std::initializer_list<std::string_view> allowed, std::string_view what) {
  for (const auto choice : allowed) {
    if (value == choice) return value;
  }
  std::string list;
  for (const auto choice : allowed) list += (list.empty() ? "" : "|") + std::string{choice};
  fail(std::string{what} + " must be " + list + ", not '" + value + "'");
}

void expect_end(const args& rest) {
  if (!rest.empty()) fail("unexpected '" + rest.front() + "'");
}

bool take_public_flag(args& rest) {
  if (!rest.empty() && lower(rest.back()) == "public") {
    rest.pop_back();
    return true;
  }
  return false;
}

// "force: reason…" (or, where bare_word is allowed, "force reason…") anywhere after the fixed
// arguments: splits it off. Where free text precedes it (open's title), only "force:" counts, so a
// title like "Air force redesign" is not mistaken for an override.
std::optional<std::string> take_force(args& rest, bool bare_word = true) {
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const auto word = lower(rest[i]);
    if ((bare_word && word == "force") || word == "force:" || word.starts_with("force:")) {
      args reason_words(rest.begin() + static_cast<std::ptrdiff_t>(i) + 1, rest.end());
      if (word.size() > 6) reason_words.insert(reason_words.begin(), rest[i].substr(6));
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.end());
      auto reason = join(reason_words);
      if (reason.empty()) fail("force needs a reason: force: <why>");
      return reason;
    }
  }
  return std::nullopt;
}

std::string take_user(args& rest, std::string_view what) {
  auto token = take(rest, what);
  auto id = mention_id(token);
  if (id.empty()) fail(std::string{what} + " must be a mention like @name, not '" + token + "'");
  return id;
}

// Trailing "downtime <minutes>".
std::optional<int> take_downtime(args& rest) {
  if (rest.size() >= 2 && lower(rest[rest.size() - 2]) == "downtime") {
    const int minutes = to_int(rest.back(), "downtime");
    rest.resize(rest.size() - 2);
    return minutes;
  }
  return std::nullopt;
}

std::vector<command_spec> build_specs() {
  std::vector<command_spec> specs;
  // `families` are the policy's permission families that govern the command (each needs a rule in
  // the policy); none: `who` says who may, and the command decides (help: anyone; approve and
  // reject: whoever was asked to sign off).
  const auto add = [&specs](std::string name, std::vector<std::string> aliases, std::string usage, std::string summary,
                            std::vector<std::string> examples, std::function<command(args&)> parse,
                            std::vector<std::string> families, std::string who = {},
                            std::vector<std::string> family_uses = {}) {
    if (!family_uses.empty() && family_uses.size() != families.size()) {
      throw std::logic_error{"command " + name + ": one use per permission family"};
    }
    specs.push_back({std::move(name), std::move(aliases), std::move(usage), std::move(summary), std::move(examples),
                     std::move(parse), std::move(families), std::move(family_uses), std::move(who)});
  };

  add("help", {"?", "commands"}, "help [command]", "what I can do here, and the syntax of one command",
       {"help", "help deploy"}, [](args& rest) -> command {
         help_command cmd{rest.empty() ? "" : lower(take(rest, "command"))};
         expect_end(rest);
         return cmd;
       }, {}, "anyone");
  add("open", {"new", "create"}, "open <version> <major|minor|hotfix|emergency> [title…] [force: <reason…>]",
       "opens a release in planning with you as its coordinator, announced in the release channel",
      {"open 4.2.0 minor Payments refresh"},
       [](args& rest) -> command {
         open_command cmd;
         cmd.force_reason = take_force(rest, false);
         cmd.version = take(rest, "version");
         cmd.type = take_lower(rest, "release type (major|minor|hotfix|emergency)");
         cmd.title = take_rest(rest);
         return cmd;
       }, {"open"});
  add("list", {"ls", "releases"}, "list [active|all|<type>] [public]", "one line per release",
       {"list", "list all", "list hotfix"}, [](args& rest) -> command {
         list_command cmd;
         cmd.make_public = take_public_flag(rest);
         if (!rest.empty()) cmd.filter = take_lower(rest, "filter");
         expect_end(rest);
         return cmd;
       }, {"list"});
  add("status", {"st", "show"}, "status [<version>] [public]",
       "active releases, or one release: stage, path, schedule, sign-offs, checklist, deployments, blockers",
      {"status", "status 4.2"}, [](args& rest) -> command {
         status_command cmd;
         cmd.make_public = take_public_flag(rest);
         if (!rest.empty()) cmd.version = take(rest, "version");
         expect_end(rest);
         return cmd;
       }, {"status"});
  add("schedule", {}, "schedule <version> <cutoff|environment> <YYYY-MM-DD HH:MM> [Area/City]",
       "sets a planned date; changes are announced",
       {"schedule 4.2.0 production 2026-12-01 17:00 Australia/Adelaide"}, [](args& rest) -> command {
         schedule_command cmd;
         cmd.version = take(rest, "version");
         cmd.milestone = take_lower(rest, "milestone (cutoff or an environment)");
         cmd.when = take_required_rest(rest, "time (YYYY-MM-DD HH:MM)");
         return cmd;
       }, {"schedule"});
  add("advance", {"next"}, "advance <version> [force <reason…>]",
       "moves to the next stage if its gate passes, otherwise says exactly what blocks it",
       {"advance 4.2.0", "advance 4.2.0 force UAT signed on paper"}, [](args& rest) -> command {
         advance_command cmd;
         cmd.force_reason = take_force(rest);
         cmd.version = take(rest, "version");
         expect_end(rest);
         return cmd;
       }, {"advance"});
  add("check", {"checklist"}, "check <version> [<item> [done|na|open] [note…]]",
       "the current stage's checklist, or marks one item (by id or number)",
       {"check 4.2.0", "check 4.2.0 2 done", "check 4.2.0 release-notes na not needed"}, [](args& rest) -> command {
         check_command cmd;
         cmd.version = take(rest, "version");
         if (!rest.empty()) {
           cmd.item = take_lower(rest, "item");
           cmd.state = rest.empty() ? "done" : one_of(take_lower(rest, "state"), {"done", "na", "open"}, "state");
           cmd.note = take_rest(rest);
         }
         return cmd;
       }, {"check"});
  add("ready", {}, "ready <version> <team> [note…]", "confirms a team's readiness in the readiness review",
      {"ready 4.2.0 marketing blog post scheduled"}, [](args& rest) -> command {
         ready_command cmd;
         cmd.version = take(rest, "version");
         cmd.team = take_lower(rest, "team");
         cmd.note = take_rest(rest);
         return cmd;
       }, {"ready"});
  add("scope", {"tickets"}, "scope <version> add|remove|resolved|unresolved <TICKET>…",
       "tickets in the release and whether each is resolved",
       {"scope 4.2.0 add PAY-12 PAY-13", "scope 4.2.0 resolved PAY-12"}, [](args& rest) -> command {
         scope_command cmd;
         cmd.version = take(rest, "version");
         cmd.operation = one_of(take_lower(rest, "operation"), {"add", "remove", "resolved", "unresolved"}, "operation");
         if (rest.empty()) fail("missing ticket");
         for (auto& ticket : rest) {
           if (ticket.size() > 64) fail("ticket '" + ticket.substr(0, 20) + "…' is too long");
           cmd.tickets.push_back(ticket);
         }
         rest.clear();
         return cmd;
       }, {"scope"});
  add("close", {}, "close <version>", "ends the release (the review must be done)",
       {"close 4.2.0"}, [](args& rest) -> command {
         close_command cmd{take(rest, "version")};
         expect_end(rest);
         return cmd;
       }, {"close"});
  add("cancel", {}, "cancel <version> <reason…>", "cancels the release at any stage",
       {"cancel 4.2.0 superseded by 4.3.0"}, [](args& rest) -> command {
         cancel_command cmd;
         cmd.version = take(rest, "version");
         cmd.reason = take_required_rest(rest, "reason");
         return cmd;
       }, {"cancel"});
  add("signoff", {"sign-off", "request"}, "signoff <version> <role> <@user>…",
       "asks those people to sign off for that role, each by direct message with Approve / Reject",
       {"signoff 4.2.0 qa @quinn"}, [](args& rest) -> command {
         signoff_command cmd;
         cmd.version = take(rest, "version");
         cmd.role = take_lower(rest, "role");
         if (rest.empty()) fail("missing @user to ask");
         while (!rest.empty()) cmd.users.push_back(take_user(rest, "each person"));
         return cmd;
       }, {"signoff"});
  const auto parse_decision = [](bool approve) {
    return [approve](args& rest) -> command {
      decide_command cmd;
      cmd.approve = approve;
      cmd.version = take(rest, "version");
      if (rest.size() >= 2 && lower(rest.front()) == "as") {
        rest.erase(rest.begin());
        cmd.role = take_lower(rest, "role");
      }
      cmd.note = approve ? take_rest(rest) : take_required_rest(rest, "reason");
      return cmd;
    };
  };
  add("approve", {"lgtm"}, "approve <version> [as <role>] [note…]", "records your approval for a role you hold",
      {"approve 4.2.0", "approve 4.2.0 as qa regression clean"}, parse_decision(true), {}, "a holder of the role");
  add("reject", {}, "reject <version> [as <role>] <reason…>", "records your rejection; the release cannot pass signoff",
      {"reject 4.2.0 as qa checkout broken on Safari"}, parse_decision(false), {}, "a holder of the role");
  add("cutoff", {"cut-off", "codefreeze"}, "cutoff <version> <YYYY-MM-DD HH:MM> [Area/City]",
       "announces code cut-off now and reminds the release before it (24 h, 1 h, at the moment)",
       {"cutoff 4.2.0 2026-12-01 17:00"}, [](args& rest) -> command {
         cutoff_command cmd;
         cmd.version = take(rest, "version");
         cmd.when = take_required_rest(rest, "time (YYYY-MM-DD HH:MM)");
         return cmd;
       }, {"cutoff"});
  add("deploy", {"deployment"},
       "deploy <version> <env> run | start [downtime <min>] | step <text…> | done [downtime <min>] | "
       "failed <reason…> | rollback <reason…>",
       "announces deployment progress to an environment, in path order; `run` starts the environment's configured "
       "pipeline (GitHub Actions, GitLab CI, a release script), whose progress then arrives by itself; pipelines "
       "report the same through the bot's webhooks (POST /hooks/<source>, see the README)",
       {"deploy 4.2.0 uat run", "deploy 4.2.0 uat start downtime 5", "deploy 4.2.0 uat step migrations applied",
        "deploy 4.2.0 uat done"},
       [](args& rest) -> command {
         deploy_command cmd;
         cmd.version = take(rest, "version");
         cmd.environment = take_lower(rest, "environment");
         cmd.action =
             one_of(take_lower(rest, "action"), {"run", "start", "step", "done", "failed", "rollback"}, "action");
         if (cmd.action == "run") {
           expect_end(rest);
         } else if (cmd.action == "start" || cmd.action == "done") {
           cmd.downtime_minutes = take_downtime(rest);
           expect_end(rest);
         } else {
           cmd.text = take_required_rest(rest, cmd.action == "step" ? "step text" : "reason");
         }
         return cmd;
       }, {"deploy"});
  add("incident", {"outage"}, "incident <version> <sev1|sev2|sev3> <description…>",
       "records an outage or incident caused by the release",
       {"incident 4.2.0 sev2 checkout latency doubled"}, [](args& rest) -> command {
         incident_command cmd;
         cmd.version = take(rest, "version");
         cmd.severity = one_of(take_lower(rest, "severity"), {"sev1", "sev2", "sev3"}, "severity");
         cmd.description = take_required_rest(rest, "description");
         return cmd;
       }, {"incident"});
  add("review", {"retro"}, "review <version> start | add <good|improve|action> <text…> [@owner] | close",
       "the post-release review: lessons, improvements and actions",
       {"review 4.2.0 start", "review 4.2.0 add action automate smoke tests @dana", "review 4.2.0 close"},
       [](args& rest) -> command {
         review_command cmd;
         cmd.version = take(rest, "version");
         cmd.action = one_of(take_lower(rest, "action"), {"start", "add", "close"}, "action");
         if (cmd.action == "add") {
           cmd.kind = one_of(take_lower(rest, "kind"), {"good", "improve", "action"}, "kind");
           if (!rest.empty() && !mention_id(rest.back()).empty()) {
             cmd.owner = mention_id(rest.back());
             rest.pop_back();
           }
           cmd.text = take_required_rest(rest, "text");
           if (cmd.kind == "action" && !cmd.owner) fail("an action needs an owner: end it with @owner");
         }
         expect_end(rest);
         return cmd;
       }, {"review-manage", "review-add"}, {}, {"start, close", "add"});
  add("report", {"kpi", "kpis"}, "report [<from YYYY-MM-DD> [<to YYYY-MM-DD>]] [public]",
       "the release KPIs for a period (default: this quarter)",
       {"report", "report 2026-01-01 2026-07-01"}, [](args& rest) -> command {
         report_command cmd;
         cmd.make_public = take_public_flag(rest);
         if (!rest.empty()) cmd.from = take(rest, "from date");
         if (!rest.empty()) cmd.to = take(rest, "to date");
         expect_end(rest);
         return cmd;
       }, {"report"});
  add("audit", {"history"}, "audit <version> | audit verify",
       "the release's audit trail, or a check that the whole trail is unaltered",
       {"audit 4.2.0", "audit verify"}, [](args& rest) -> command {
         audit_command cmd;
         auto target = take(rest, "version or verify");
         if (lower(target) == "verify") {
           cmd.verify = true;
         } else {
           cmd.version = target;
         }
         expect_end(rest);
         return cmd;
       }, {"audit"});
  add("role", {"grant"}, "role <@user> add|remove <role>", "grants or removes a role",
       {"role @quinn add qa"}, [](args& rest) -> command {
         role_command cmd;
         cmd.user = take_user(rest, "user");
         cmd.operation = one_of(take_lower(rest, "operation"), {"add", "remove"}, "operation");
         cmd.role = take_lower(rest, "role");
         expect_end(rest);
         return cmd;
       }, {"role"});
  add("roles", {"who"}, "roles [<@user>]", "who holds which role", {"roles", "roles @quinn"},
       [](args& rest) -> command {
         roles_command cmd;
         if (!rest.empty()) cmd.user = take_user(rest, "user");
         expect_end(rest);
         return cmd;
       }, {"role"});
  add("tests", {"unit-tests"}, "tests <version> <count>", "records the number of unit test cases in the release",
      {"tests 4.2.0 1840"}, [](args& rest) -> command {
         tests_command cmd;
         cmd.version = take(rest, "version");
         cmd.count = to_int(take(rest, "count"), "count");
         expect_end(rest);
         return cmd;
       }, {"tests"});

  add("build", {"candidate"}, "build <version> <build-id> [on <env>] [commit <sha>] [<url>]",
      "records the build (release candidate) deployed to an environment — by default the one deployed last; "
      "a newer build voids the sign-offs the policy binds to builds there, and asks those people again",
      {"build 4.2.0 1240 on uat commit 9fceb02 https://ci.example.com/job/1240", "build 4.2.0 1241"},
      [](args& rest) -> command {
        build_command cmd;
        cmd.version = take(rest, "version");
        cmd.build = take(rest, "build id");
        while (!rest.empty()) {
          const auto word = lower(rest.front());
          if ((word == "on" || word == "commit") && rest.size() >= 2) {
            (word == "on" ? cmd.environment : cmd.commit) = word == "on" ? lower(rest[1]) : rest[1];
            rest.erase(rest.begin(), rest.begin() + 2);
          } else if (cmd.url.empty() && (word.starts_with("https://") || word.starts_with("http://") ||
                                         word.starts_with("<http"))) {
            cmd.url = rest.front();
            // Slack sends a link as <url> or <url|label>.
            if (cmd.url.starts_with("<") && cmd.url.ends_with(">")) cmd.url = cmd.url.substr(1, cmd.url.size() - 2);
            if (const auto bar = cmd.url.find('|'); bar != std::string::npos) cmd.url.resize(bar);
            rest.erase(rest.begin());
          } else {
            expect_end(rest);
          }
        }
        return cmd;
      }, {"deploy"});

  std::set<std::string> names;
  for (const auto& spec : specs) {
    for (const auto& name : [&] {
           auto all = spec.aliases;
           all.push_back(spec.name);
           return all;
         }()) {
      if (!names.insert(name).second) throw std::logic_error{"command name registered twice: " + name};
    }
  }
  return specs;
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  bool in_token = false;
  char quote = 0;
  for (const char c : text) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        current += c;
      }
    } else if (c == '"' || c == '\'') {
      // An apostrophe inside a word ("don't") is a letter, not a quote.
      if (c == '\'' && in_token && !current.empty()) {
        current += c;
        continue;
      }
      quote = c;
      in_token = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_token) tokens.push_back(std::move(current));
      current.clear();
      in_token = false;
    } else {
      current += c;
      in_token = true;
    }
  }
  if (quote != 0) throw parse_error{std::string{"unbalanced quote "} + quote + " — close it or remove it", {}};
  if (in_token) tokens.push_back(std::move(current));
  return tokens;
}

std::string mention_id(std::string_view token) {
  if (token.size() < 4 || !token.starts_with("<@") || !token.ends_with('>')) return {};
  auto inner = token.substr(2, token.size() - 3);
  inner = inner.substr(0, inner.find('|'));
  return std::string{inner};
}

const std::vector<command_spec>& command_specs() {
  static const std::vector<command_spec> specs = build_specs();
  return specs;
}

const std::vector<std::string>& command_families() {
  static const std::vector<std::string> families = [] {
    std::vector<std::string> all;
    for (const auto& spec : command_specs()) {
      for (const auto& family : spec.families) {
        if (std::find(all.begin(), all.end(), family) == all.end()) all.push_back(family);
      }
    }
    return all;
  }();
  return families;
}

std::vector<std::string> commands_of_family(std::string_view family) {
  std::vector<std::string> names;
  for (const auto& spec : command_specs()) {
    if (std::find(spec.families.begin(), spec.families.end(), family) != spec.families.end()) names.push_back(spec.name);
  }
  return names;
}

const std::vector<action_spec>& action_specs() {
  // Beside approve and reject: the sign-off card's buttons carry the request id as their value.
  static const std::vector<action_spec> actions = [] {
    const auto decision = [](bool approve) {
      return [approve](std::string_view value) -> command {
        std::int64_t request_id = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), request_id);
        if (error != std::errc{} || end != value.data() + value.size() || request_id <= 0) {
          fail("that button carries no sign-off request");
        }
        return click_command{request_id, approve};
      };
    };
    std::vector<action_spec> all{{std::string{signoff_approve_action}, "approve", decision(true)},
                                 {std::string{signoff_reject_action}, "reject", decision(false)}};
    for (const auto& action : all) {
      if (find_spec(action.command_name) == nullptr) throw std::logic_error{"action for an unknown command: " + action.id};
    }
    return all;
  }();
  return actions;
}

const action_spec* find_action(std::string_view id) {
  for (const auto& action : action_specs()) {
    if (action.id == id) return &action;
  }
  return nullptr;
}

const command_spec* find_spec(std::string_view name_or_alias) {
  const auto name = lower(name_or_alias);
  for (const auto& spec : command_specs()) {
    if (spec.name == name || std::find(spec.aliases.begin(), spec.aliases.end(), name) != spec.aliases.end()) {
      return &spec;
    }
  }
  return nullptr;
}

parse_result parse(std::string_view text) {
  constexpr std::size_t max_length = 4000;
  if (text.size() > max_length) {
    return parse_error{"that message is too long (" + std::to_string(text.size()) + " characters; at most " +
                           std::to_string(max_length) + ")",
                       {}};
  }
  std::vector<std::string> tokens;
  try {
    tokens = tokenize(normalize_quotes(text));
  } catch (const parse_error& error) {
    return error;
  }
  // A leading mention is the bot being addressed ("@releasebot status").
  while (!tokens.empty() && (!mention_id(tokens.front()).empty() || lower(tokens.front()) == "@releasebot")) {
    tokens.erase(tokens.begin());
  }
  if (!tokens.empty() && tokens.front() == "/release") tokens.erase(tokens.begin());
  if (tokens.empty()) return command{help_command{}};
  const auto* spec = find_spec(tokens.front());
  if (spec == nullptr) {
    return parse_error{"I don't know '" + tokens.front() + "' — say help to see what I can do", {}};
  }
  tokens.erase(tokens.begin());
  try {
    return spec->parse(tokens);
  } catch (parse_error& error) {
    error.usage = spec->usage;
    return error;
  }
}

std::string command_name(const command& value) {
  static constexpr const char* names[] = {"help",    "open",     "list",    "status",   "schedule", "advance",
                                          "check",   "ready",    "scope",   "close",    "cancel",   "signoff",
                                          "decide",  "click",    "cutoff",  "deploy",   "incident", "review",
                                          "report",  "audit",    "role",    "roles",    "tests",    "build"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[value.index()];
}

}  // namespace releasebot::commands
