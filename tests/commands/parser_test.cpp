#include "commands/parser.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace releasebot::commands;
using strings = std::vector<std::string>;

// Parses text that must be valid and returns the command as type T.
template <typename T>
T parsed_as(std::string_view text) {
  const auto result = parse(text);
  if (const auto* error = std::get_if<parse_error>(&result)) {
    FAIL("'" << text << "' did not parse: " << error->problem);
  }
  const auto& cmd = std::get<command>(result);
  const auto* typed = std::get_if<T>(&cmd);
  if (typed == nullptr) FAIL("'" << text << "' parsed as " << command_name(cmd));
  return *typed;
}

// Parses text that must be refused and returns the error.
parse_error refused(std::string_view text) {
  const auto result = parse(text);
  if (const auto* cmd = std::get_if<command>(&result)) {
    FAIL("'" << text << "' parsed as " << command_name(*cmd) << " but should be refused");
  }
  return std::get<parse_error>(result);
}

std::string usage_of(std::string_view name) {
  const auto* spec = find_spec(name);
  REQUIRE(spec != nullptr);
  return spec->usage;
}

}  // namespace

TEST_CASE("help parses with and without a topic", "[parser]") {
  CHECK(parsed_as<help_command>("help").topic.empty());
  CHECK(parsed_as<help_command>("help Deploy").topic == "deploy");
  CHECK(parsed_as<help_command>("? open").topic == "open");
  // Saying nothing at all (just the mention) asks for help.
  CHECK(parsed_as<help_command>("").topic.empty());
  CHECK(parsed_as<help_command>("<@UBOT>").topic.empty());
}

TEST_CASE("open parses version, type, title and force reason", "[parser]") {
  SECTION("title only") {
    const auto cmd = parsed_as<open_command>("open 4.2.0 Minor Payments refresh");
    CHECK(cmd.version == "4.2.0");
    CHECK(cmd.type == "minor");
    CHECK(cmd.title == "Payments refresh");
    CHECK_FALSE(cmd.force_reason.has_value());
  }
  SECTION("no title") {
    const auto cmd = parsed_as<open_command>("open v5.0.0 major");
    CHECK(cmd.version == "v5.0.0");
    CHECK(cmd.type == "major");
    CHECK(cmd.title.empty());
    CHECK_FALSE(cmd.force_reason.has_value());
  }
  SECTION("force: reason at the end") {
    const auto cmd = parsed_as<open_command>("open 4.3.0 hotfix Card fix force: client contract says so");
    CHECK(cmd.version == "4.3.0");
    CHECK(cmd.type == "hotfix");
    CHECK(cmd.title == "Card fix");
    REQUIRE(cmd.force_reason.has_value());
    CHECK(*cmd.force_reason == "client contract says so");
  }
  SECTION("force:reason with no space") {
    const auto cmd = parsed_as<open_command>("open 4.3.0 hotfix force:legal");
    CHECK(cmd.title.empty());
    REQUIRE(cmd.force_reason.has_value());
    CHECK(*cmd.force_reason == "legal");
  }
  SECTION("the word force inside a title is part of the title") {
    // COMMANDS.md: the override is "ending the command with force: <reason…>"; a title word must not
    // silently become an override of the version rule.
    const auto cmd = parsed_as<open_command>("open 4.3.0 minor Air force redesign");
    CHECK(cmd.title == "Air force redesign");
    CHECK_FALSE(cmd.force_reason.has_value());
  }
  SECTION("force: without a reason is refused") {
    const auto error = refused("open 4.3.0 minor Title force:");
    CHECK(error.problem.find("force needs a reason") != std::string::npos);
    CHECK(error.usage == usage_of("open"));
  }
  SECTION("aliases") {
    CHECK(parsed_as<open_command>("new 1.0.0 major").version == "1.0.0");
    CHECK(parsed_as<open_command>("create 1.0.0 major").type == "major");
  }
}

TEST_CASE("list parses its filter and public flag", "[parser]") {
  auto cmd = parsed_as<list_command>("list");
  CHECK(cmd.filter == "active");
  CHECK_FALSE(cmd.make_public);
  cmd = parsed_as<list_command>("list ALL");
  CHECK(cmd.filter == "all");
  CHECK_FALSE(cmd.make_public);
  cmd = parsed_as<list_command>("ls hotfix public");
  CHECK(cmd.filter == "hotfix");
  CHECK(cmd.make_public);
  cmd = parsed_as<list_command>("list public");
  CHECK(cmd.filter == "active");
  CHECK(cmd.make_public);
  const auto error = refused("list all hotfix");
  CHECK(error.problem == "unexpected 'hotfix'");
  CHECK(error.usage == usage_of("list"));
}

TEST_CASE("status parses an optional version and public", "[parser]") {
  auto cmd = parsed_as<status_command>("status 4.2 public");
  REQUIRE(cmd.version.has_value());
  CHECK(*cmd.version == "4.2");
  CHECK(cmd.make_public);
  cmd = parsed_as<status_command>("status");
  CHECK_FALSE(cmd.version.has_value());
  CHECK_FALSE(cmd.make_public);
  cmd = parsed_as<status_command>("st v4.2.1");
  CHECK(*cmd.version == "v4.2.1");
  CHECK_FALSE(cmd.make_public);
}

TEST_CASE("schedule keeps the whole time with its zone", "[parser]") {
  const auto cmd = parsed_as<schedule_command>("schedule 4.2.0 Production 2026-12-01 17:00 Australia/Adelaide");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.milestone == "production");
  CHECK(cmd.when == "2026-12-01 17:00 Australia/Adelaide");
  const auto error = refused("schedule 4.2.0 cutoff");
  CHECK(error.problem == "missing time (YYYY-MM-DD HH:MM)");
  CHECK(error.usage == usage_of("schedule"));
}

TEST_CASE("advance parses force with a reason", "[parser]") {
  auto cmd = parsed_as<advance_command>("advance 4.2.0");
  CHECK(cmd.version == "4.2.0");
  CHECK_FALSE(cmd.force_reason.has_value());
  cmd = parsed_as<advance_command>("advance 4.2.0 force UAT signed on paper");
  CHECK(cmd.version == "4.2.0");
  REQUIRE(cmd.force_reason.has_value());
  CHECK(*cmd.force_reason == "UAT signed on paper");
  cmd = parsed_as<advance_command>("next 4.2 force: ok by CTO");
  CHECK(*cmd.force_reason == "ok by CTO");
  CHECK(refused("advance 4.2.0 force").problem.find("force needs a reason") != std::string::npos);
  CHECK(refused("advance 4.2.0 now").problem == "unexpected 'now'");
}

TEST_CASE("check parses item, state and note; state defaults to done", "[parser]") {
  auto cmd = parsed_as<check_command>("check 4.2.0");
  CHECK(cmd.version == "4.2.0");
  CHECK_FALSE(cmd.item.has_value());
  CHECK_FALSE(cmd.state.has_value());
  CHECK(cmd.note.empty());

  cmd = parsed_as<check_command>("check 4.2.0 2");
  REQUIRE(cmd.item.has_value());
  CHECK(*cmd.item == "2");
  REQUIRE(cmd.state.has_value());
  CHECK(*cmd.state == "done");
  CHECK(cmd.note.empty());

  cmd = parsed_as<check_command>("check 4.2.0 Release-Notes NA not needed this time");
  CHECK(*cmd.item == "release-notes");
  CHECK(*cmd.state == "na");
  CHECK(cmd.note == "not needed this time");

  cmd = parsed_as<check_command>("checklist 4.2.0 kb-updated open reopened");
  CHECK(*cmd.state == "open");
  CHECK(cmd.note == "reopened");

  const auto error = refused("check 4.2.0 kb-updated maybe");
  CHECK(error.problem == "state must be done|na|open, not 'maybe'");
  CHECK(error.usage == usage_of("check"));
}

TEST_CASE("ready, close, cancel, cutoff", "[parser]") {
  const auto ready = parsed_as<ready_command>("ready 4.2.0 Marketing blog post scheduled");
  CHECK(ready.version == "4.2.0");
  CHECK(ready.team == "marketing");
  CHECK(ready.note == "blog post scheduled");

  CHECK(parsed_as<close_command>("close 4.2.0").version == "4.2.0");
  CHECK(refused("close 4.2.0 now").problem == "unexpected 'now'");

  const auto cancel = parsed_as<cancel_command>("cancel 4.2.0 superseded by 4.3.0");
  CHECK(cancel.version == "4.2.0");
  CHECK(cancel.reason == "superseded by 4.3.0");
  CHECK(refused("cancel 4.2.0").problem == "missing reason");

  const auto cutoff = parsed_as<cutoff_command>("cut-off 4.2.0 2026-12-01 17:00 Europe/Berlin");
  CHECK(cutoff.version == "4.2.0");
  CHECK(cutoff.when == "2026-12-01 17:00 Europe/Berlin");
}

TEST_CASE("scope parses operation and tickets", "[parser]") {
  auto cmd = parsed_as<scope_command>("scope 4.2.0 add PAY-12 PAY-13");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.operation == "add");
  CHECK(cmd.tickets == strings{"PAY-12", "PAY-13"});
  for (const auto* op : {"remove", "resolved", "unresolved"}) {
    cmd = parsed_as<scope_command>(std::string{"scope 4.2.0 "} + op + " PAY-12");
    CHECK(cmd.operation == op);
    CHECK(cmd.tickets == strings{"PAY-12"});
  }
  CHECK(refused("scope 4.2.0 add").problem == "missing ticket");
  CHECK(refused("scope 4.2.0 drop PAY-1").problem == "operation must be add|remove|resolved|unresolved, not 'drop'");
  CHECK(refused("scope 4.2.0 add " + std::string(65, 'X')).problem.find("too long") != std::string::npos);
}

TEST_CASE("signoff takes several mentions", "[parser]") {
  const auto cmd = parsed_as<signoff_command>("signoff 4.2.0 QA <@U1> <@U2|bob> <@W3>");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.role == "qa");
  CHECK(cmd.users == strings{"U1", "U2", "W3"});
  CHECK(refused("signoff 4.2.0 qa").problem == "missing @user to ask");
  const auto error = refused("signoff 4.2.0 qa <@U1> bob");
  CHECK(error.problem == "each person must be a mention like @name, not 'bob'");
  CHECK(error.usage == usage_of("signoff"));
}

TEST_CASE("approve and reject with as role", "[parser]") {
  auto cmd = parsed_as<decide_command>("approve 4.2.0");
  CHECK(cmd.approve);
  CHECK(cmd.version == "4.2.0");
  CHECK_FALSE(cmd.role.has_value());
  CHECK(cmd.note.empty());

  cmd = parsed_as<decide_command>("approve 4.2.0 as QA regression clean");
  CHECK(cmd.approve);
  REQUIRE(cmd.role.has_value());
  CHECK(*cmd.role == "qa");
  CHECK(cmd.note == "regression clean");

  cmd = parsed_as<decide_command>("lgtm 4.2 looks fine");
  CHECK(cmd.approve);
  CHECK_FALSE(cmd.role.has_value());
  CHECK(cmd.note == "looks fine");

  cmd = parsed_as<decide_command>("reject 4.2.0 as qa checkout broken on Safari");
  CHECK_FALSE(cmd.approve);
  CHECK(*cmd.role == "qa");
  CHECK(cmd.note == "checkout broken on Safari");

  cmd = parsed_as<decide_command>("reject 4.2.0 checkout broken");
  CHECK_FALSE(cmd.approve);
  CHECK_FALSE(cmd.role.has_value());
  CHECK(cmd.note == "checkout broken");

  SECTION("reject needs a reason") {
    auto error = refused("reject 4.2.0");
    CHECK(error.problem == "missing reason");
    CHECK(error.usage == usage_of("reject"));
    error = refused("reject 4.2.0 as qa");
    CHECK(error.problem == "missing reason");
  }
}

TEST_CASE("deploy actions", "[parser]") {
  auto cmd = parsed_as<deploy_command>("deploy 4.2.0 UAT start downtime 5");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.environment == "uat");
  CHECK(cmd.action == "start");
  REQUIRE(cmd.downtime_minutes.has_value());
  CHECK(*cmd.downtime_minutes == 5);
  CHECK(cmd.text.empty());

  cmd = parsed_as<deploy_command>("deploy 4.2.0 uat start");
  CHECK(cmd.action == "start");
  CHECK_FALSE(cmd.downtime_minutes.has_value());

  cmd = parsed_as<deploy_command>("deploy 4.2.0 production done downtime 12");
  CHECK(cmd.environment == "production");
  CHECK(cmd.action == "done");
  REQUIRE(cmd.downtime_minutes.has_value());
  CHECK(*cmd.downtime_minutes == 12);

  cmd = parsed_as<deploy_command>("deploy 4.2.0 uat done");
  CHECK(cmd.action == "done");
  CHECK_FALSE(cmd.downtime_minutes.has_value());

  cmd = parsed_as<deploy_command>("deploy 4.2.0 uat step migrations applied");
  CHECK(cmd.action == "step");
  CHECK(cmd.text == "migrations applied");
  CHECK_FALSE(cmd.downtime_minutes.has_value());

  cmd = parsed_as<deploy_command>("deployment 4.2.0 uat failed health check red");
  CHECK(cmd.action == "failed");
  CHECK(cmd.text == "health check red");

  cmd = parsed_as<deploy_command>("deploy 4.2.0 beta rollback data loss risk");
  CHECK(cmd.environment == "beta");
  CHECK(cmd.action == "rollback");
  CHECK(cmd.text == "data loss risk");

  cmd = parsed_as<deploy_command>("deploy 4.2.0 UAT run");
  CHECK(cmd.environment == "uat");
  CHECK(cmd.action == "run");
  CHECK(refused("deploy 4.2.0 uat run now").problem == "unexpected 'now'");

  CHECK(refused("deploy 4.2.0 uat step").problem == "missing step text");
  CHECK(refused("deploy 4.2.0 uat failed").problem == "missing reason");
  CHECK(refused("deploy 4.2.0 uat rollback").problem == "missing reason");
  CHECK(refused("deploy 4.2.0 uat start downtime lots").problem == "downtime must be a whole number, not 'lots'");
  CHECK(refused("deploy 4.2.0 uat start downtime -5").problem == "downtime must be a whole number, not '-5'");
  CHECK(refused("deploy 4.2.0 uat start now").problem == "unexpected 'now'");
  const auto error = refused("deploy 4.2.0 uat launch");
  CHECK(error.problem == "action must be run|start|step|done|failed|rollback, not 'launch'");
  CHECK(error.usage == usage_of("deploy"));
}

TEST_CASE("incident severities", "[parser]") {
  for (const auto* severity : {"sev1", "sev2", "sev3"}) {
    const auto cmd = parsed_as<incident_command>(std::string{"incident 4.2.0 "} + severity + " checkout latency doubled");
    CHECK(cmd.version == "4.2.0");
    CHECK(cmd.severity == severity);
    CHECK(cmd.description == "checkout latency doubled");
  }
  CHECK(parsed_as<incident_command>("outage 4.2.0 SEV1 down").severity == "sev1");
  CHECK(refused("incident 4.2.0 sev4 meh").problem == "severity must be sev1|sev2|sev3, not 'sev4'");
  CHECK(refused("incident 4.2.0 sev2").problem == "missing description");
}

TEST_CASE("review start, add with owner, close", "[parser]") {
  auto cmd = parsed_as<review_command>("review 4.2.0 start");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.action == "start");
  CHECK(parsed_as<review_command>("retro 4.2.0 close").action == "close");

  cmd = parsed_as<review_command>("review 4.2.0 add action automate smoke tests <@U9>");
  CHECK(cmd.action == "add");
  CHECK(cmd.kind == "action");
  CHECK(cmd.text == "automate smoke tests");
  REQUIRE(cmd.owner.has_value());
  CHECK(*cmd.owner == "U9");

  cmd = parsed_as<review_command>("review 4.2.0 add good fast rollback <@U7|dana>");
  CHECK(cmd.kind == "good");
  CHECK(cmd.text == "fast rollback");
  CHECK(*cmd.owner == "U7");

  cmd = parsed_as<review_command>("review 4.2.0 add improve earlier notice");
  CHECK(cmd.kind == "improve");
  CHECK(cmd.text == "earlier notice");
  CHECK_FALSE(cmd.owner.has_value());

  auto error = refused("review 4.2.0 add action automate smoke tests");
  CHECK(error.problem == "an action needs an owner: end it with @owner");
  CHECK(error.usage == usage_of("review"));
  CHECK(refused("review 4.2.0 add good").problem == "missing text");
  CHECK(refused("review 4.2.0 add action <@U9>").problem == "missing text");
  CHECK(refused("review 4.2.0 add bad x").problem == "kind must be good|improve|action, not 'bad'");
  CHECK(refused("review 4.2.0 start now").problem == "unexpected 'now'");
}

TEST_CASE("report dates", "[parser]") {
  auto cmd = parsed_as<report_command>("report");
  CHECK_FALSE(cmd.from.has_value());
  CHECK_FALSE(cmd.to.has_value());
  CHECK_FALSE(cmd.make_public);
  cmd = parsed_as<report_command>("report 2026-01-01");
  CHECK(*cmd.from == "2026-01-01");
  CHECK_FALSE(cmd.to.has_value());
  cmd = parsed_as<report_command>("kpi 2026-01-01 2026-07-01 public");
  CHECK(*cmd.from == "2026-01-01");
  CHECK(*cmd.to == "2026-07-01");
  CHECK(cmd.make_public);
  CHECK(refused("report 2026-01-01 2026-07-01 2026-08-01").problem == "unexpected '2026-08-01'");
}

TEST_CASE("audit version or verify", "[parser]") {
  auto cmd = parsed_as<audit_command>("audit verify");
  CHECK(cmd.verify);
  CHECK_FALSE(cmd.version.has_value());
  cmd = parsed_as<audit_command>("audit VERIFY");
  CHECK(cmd.verify);
  cmd = parsed_as<audit_command>("history 4.2.0");
  CHECK_FALSE(cmd.verify);
  REQUIRE(cmd.version.has_value());
  CHECK(*cmd.version == "4.2.0");
  CHECK(refused("audit").problem == "missing version or verify");
}

TEST_CASE("role and roles", "[parser]") {
  auto role = parsed_as<role_command>("role <@U1> add QA");
  CHECK(role.user == "U1");
  CHECK(role.operation == "add");
  CHECK(role.role == "qa");
  role = parsed_as<role_command>("grant <@U1|quinn> remove dev-lead");
  CHECK(role.user == "U1");
  CHECK(role.operation == "remove");
  CHECK(role.role == "dev-lead");
  CHECK(refused("role quinn add qa").problem == "user must be a mention like @name, not 'quinn'");
  CHECK(refused("role <@U1> give qa").problem == "operation must be add|remove, not 'give'");
  CHECK(refused("role <@U1> add").problem == "missing role");

  CHECK_FALSE(parsed_as<roles_command>("roles").user.has_value());
  const auto roles = parsed_as<roles_command>("who <@U5>");
  REQUIRE(roles.user.has_value());
  CHECK(*roles.user == "U5");
}

TEST_CASE("tests count", "[parser]") {
  const auto cmd = parsed_as<tests_command>("tests 4.2.0 1840");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.count == 1840);
  CHECK(refused("tests 4.2.0 many").problem == "count must be a whole number, not 'many'");
  CHECK(refused("tests 4.2.0 12abc").problem == "count must be a whole number, not '12abc'");
  CHECK(refused("tests 4.2.0").problem == "missing count");
}

TEST_CASE("a leading bot mention and /release are stripped", "[parser]") {
  CHECK(parsed_as<status_command>("<@UBOT> status 4.2").version == "4.2");
  CHECK_FALSE(parsed_as<status_command>("<@UBOT|releasebot> status").version.has_value());
  CHECK(parsed_as<list_command>("/release list all").filter == "all");
  CHECK(parsed_as<list_command>("<@UBOT> /release list hotfix").filter == "hotfix");
  CHECK(parsed_as<list_command>("@releasebot list").filter == "active");
  // Only a leading mention is the bot: a mention later on stays an argument.
  CHECK(parsed_as<role_command>("<@UBOT> role <@U1> add qa").user == "U1");
}

TEST_CASE("quotes: smart quotes normalised, quoted strings stay one token", "[parser]") {
  CHECK(tokenize(R"(a "b c" d)") == strings{"a", "b c", "d"});
  CHECK(tokenize("a 'b  c' d") == strings{"a", "b  c", "d"});
  CHECK(tokenize("don't stop") == strings{"don't", "stop"});
  CHECK(tokenize("  spaced\tout\n") == strings{"spaced", "out"});
  CHECK(tokenize(R"(x "" y)") == strings{"x", "", "y"});

  auto cmd = parsed_as<open_command>("open 4.2.0 minor \u201cPayments   refresh\u201d");
  CHECK(cmd.title == "Payments   refresh");
  cmd = parsed_as<open_command>("open 4.2.0 minor \u2018Big one\u2019 force: \u201cas agreed\u201d");
  CHECK(cmd.title == "Big one");
  CHECK(*cmd.force_reason == "as agreed");
  // A quoted "force" is a title word, not the override.
  cmd = parsed_as<open_command>("open 4.2.0 minor \"Task force\"");
  CHECK(cmd.title == "Task force");
  CHECK_FALSE(cmd.force_reason.has_value());
  // Typographic apostrophes inside words are letters.
  CHECK(parsed_as<cancel_command>("cancel 4.2.0 we don\u2019t need it").reason == "we don't need it");
  // A non-breaking space separates words like a space.
  CHECK(parsed_as<status_command>("status\u00a04.2").version == "4.2");
}

TEST_CASE("unknown command names the word", "[parser]") {
  const auto error = refused("frobnicate 4.2.0");
  CHECK(error.problem.find("'frobnicate'") != std::string::npos);
  CHECK(error.problem.find("help") != std::string::npos);
  CHECK(error.usage.empty());
}

TEST_CASE("wrong arguments give the problem and the command's usage", "[parser]") {
  auto error = refused("open");
  CHECK(error.problem == "missing version");
  CHECK(error.usage == "open <version> <major|minor|hotfix|emergency> [title…] [force: <reason…>]");
  error = refused("open 4.2.0");
  CHECK(error.problem == "missing release type (major|minor|hotfix|emergency)");
  CHECK(error.usage == usage_of("open"));
  error = refused("approve");
  CHECK(error.problem == "missing version");
  CHECK(error.usage == usage_of("approve"));
}

TEST_CASE("an unbalanced quote is refused", "[parser]") {
  auto error = refused("open 4.2.0 minor \"Payments refresh");
  CHECK(error.problem.find("unbalanced quote \"") != std::string::npos);
  error = refused("open 4.2.0 minor \u201cPayments refresh");
  CHECK(error.problem.find("unbalanced quote") != std::string::npos);
  CHECK_THROWS_AS(tokenize("'open"), parse_error);
}

TEST_CASE("over-long input is refused", "[parser]") {
  const std::string just_fits = "cancel 4.2.0 " + std::string(4000 - 13, 'x');
  REQUIRE(just_fits.size() == 4000);
  CHECK(parsed_as<cancel_command>(just_fits).reason.size() == 4000 - 13);
  const auto error = refused(just_fits + "x");
  CHECK(error.problem.find("too long") != std::string::npos);
  CHECK(error.problem.find("4001") != std::string::npos);
  CHECK(error.usage.empty());
}

TEST_CASE("the command registry is consistent", "[parser]") {
  const auto& specs = command_specs();
  REQUIRE(specs.size() >= 22);
  std::set<std::string> names;
  for (const auto& spec : specs) {
    INFO("command " << spec.name);
    CHECK_FALSE(spec.usage.empty());
    CHECK_FALSE(spec.summary.empty());
    CHECK(spec.who.empty() != spec.families.empty());  // the policy says who, or the command does
    CHECK(spec.usage.rfind(spec.name, 0) == 0);
    CHECK(static_cast<bool>(spec.parse));
    CHECK(names.insert(spec.name).second);
    CHECK(find_spec(spec.name) == &spec);
    for (const auto& alias : spec.aliases) {
      INFO("alias " << alias);
      CHECK(names.insert(alias).second);
      CHECK(find_spec(alias) == &spec);
    }
    // Every example in the help parses to a command (not an error). Examples are written as in
    // the console (@name), whose adapter turns mentions into the neutral <@name> form first.
    for (const auto& example : spec.examples) {
      INFO("example " << example);
      static const std::regex console_mention{R"((^|\s)@([A-Za-z0-9][A-Za-z0-9._-]*))"};
      const auto result = parse(std::regex_replace(example, console_mention, "$1<@$2>"));
      CHECK(std::holds_alternative<command>(result));
    }
  }
  // Every contract word of COMMANDS.md is registered.
  for (const auto* word : {"help", "open", "list", "status", "schedule", "advance", "check", "ready", "scope", "close",
                           "cancel", "signoff", "approve", "reject", "cutoff", "deploy", "incident", "review", "report",
                           "audit", "role", "roles"}) {
    INFO(word);
    REQUIRE(find_spec(word) != nullptr);
    CHECK(find_spec(word)->name == word);
  }
  CHECK(find_spec("DEPLOY") == find_spec("deploy"));
  CHECK(find_spec("nonsense") == nullptr);
}

TEST_CASE("button actions are declared beside the command they perform", "[parser]") {
  const auto* approve = find_action(signoff_approve_action);
  REQUIRE(approve != nullptr);
  CHECK(approve->command_name == "approve");
  const auto clicked = approve->parse("42");
  REQUIRE(std::holds_alternative<click_command>(clicked));
  CHECK(std::get<click_command>(clicked).request_id == 42);
  CHECK(std::get<click_command>(clicked).approve);

  const auto* reject = find_action(signoff_reject_action);
  REQUIRE(reject != nullptr);
  CHECK(reject->command_name == "reject");
  CHECK_FALSE(std::get<click_command>(reject->parse("7")).approve);

  for (const std::string_view bad : {"", "x", "42x", "-3", "0"}) {
    INFO("value '" << bad << "'");
    CHECK_THROWS_AS(approve->parse(bad), parse_error);
  }
  CHECK(find_action("signoff_maybe") == nullptr);
}

TEST_CASE("the permission families are the ones the commands name", "[parser]") {
  const auto& families = command_families();
  CHECK(std::find(families.begin(), families.end(), "deploy") != families.end());
  CHECK(std::find(families.begin(), families.end(), "review-add") != families.end());
  CHECK(commands_of_family("role") == std::vector<std::string>{"role", "roles"});
  CHECK(commands_of_family("nothing").empty());
}

TEST_CASE("mention_id forms", "[parser]") {
  CHECK(mention_id("<@U1>") == "U1");
  CHECK(mention_id("<@U1|bob>") == "U1");
  CHECK(mention_id("<@W123ABC>") == "W123ABC");
  CHECK(mention_id("@bob").empty());
  CHECK(mention_id("U1").empty());
  CHECK(mention_id("<#C1>").empty());
  CHECK(mention_id("<!channel>").empty());
  CHECK(mention_id("<@U1").empty());
  CHECK(mention_id("<@>").empty());
  CHECK(mention_id("<@|bob>").empty());
}

TEST_CASE("command_name names each alternative", "[parser]") {
  CHECK(command_name(command{open_command{}}) == "open");
  CHECK(command_name(command{decide_command{}}) == "decide");
  CHECK(command_name(command{tests_command{}}) == "tests");
}

TEST_CASE("build: the release candidate on an environment", "[parser]") {
  auto cmd = parsed_as<build_command>("build 4.2.0 1240 on UAT commit 9fceb02 <https://ci.example.com/job/1240>");
  CHECK(cmd.version == "4.2.0");
  CHECK(cmd.build == "1240");
  CHECK(cmd.environment == "uat");
  CHECK(cmd.commit == "9fceb02");
  CHECK(cmd.url == "https://ci.example.com/job/1240");
  cmd = parsed_as<build_command>("build 4.2.0 1241");
  CHECK(cmd.environment.empty());
  CHECK(cmd.url.empty());
  CHECK(refused("build 4.2.0").problem == "missing build id");
  CHECK(refused("build 4.2.0 1241 tomorrow").problem == "unexpected 'tomorrow'");
}
