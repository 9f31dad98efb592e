// Internal to commands/: what every handler needs while it runs one command in one transaction.
#pragma once

#include "commands/engine.hpp"
#include "storage/audit_log.hpp"
#include "storage/outbox.hpp"
#include "storage/people.hpp"
#include "storage/people_directory.hpp"
#include "storage/release_repository.hpp"
#include "storage/role_grants.hpp"
#include "storage/timer_store.hpp"

#include <nlohmann/json.hpp>

namespace releasebot::commands {

class handler_context {
public:
  handler_context(engine& owner, const request& from);

  const request& from;
  const policy& rules;
  const engine_settings& settings;
  storage::release_repository releases;
  storage::audit_log audit_trail;
  storage::outbox outbox;
  storage::role_grants grants;
  storage::timer_store timers;
  storage::people people;
  // The speaker's platform's people: an admin may be configured by e-mail or UPN.
  mutable storage::people_directory directory;
  bool changed = false;

  [[noreturn]] void refuse(std::string problem) const;
  [[noreturn]] void refuse(message said) const;

  // Configured by stable id, or by the e-mail/UPN or Teams chat id the directory knows for them.
  bool is_admin(std::string_view user) const;
  // Names whoever acted: a person by mention, a trusted source (a pipeline) by its name.
  void name_actor(message_builder& out, std::string_view actor) const;
  std::vector<std::string> roles_of(std::string_view user);
  bool holds(std::string_view user, std::string_view role);
  bool is_coordinator_of(const storage::release_record& release);
  // Refuses unless the speaker may run this command family (per policy permissions).
  void require_permission(std::string_view family, const storage::release_record* release);

  // Exact version (any state), or a prefix matching exactly one active release.
  storage::release_record resolve(std::string_view version_text);
  storage::release_record resolve_active(std::string_view version_text);
  const release_type_definition& type_of(const storage::release_record& release) const;
  const stage_definition& stage_of(const storage::release_record& release) const;

  std::string reader_zone() const;
  std::string when(storage::instant at) const;  // in the reader's zone
  std::string channel_when(storage::instant at) const;  // for announcements: the configured default zone
  std::string zone_of(std::string_view user);  // a person's zone, else the configured default
  storage::instant parse_when(std::string_view text) const;  // refuses on bad input

  void audit(const storage::release_record* release, std::string_view action, nlohmann::json details);

  // The outbox: announcements to the release's thread (and channel), direct messages.
  storage::row_id announce_in_thread(const storage::release_record& release, const message& body, bool broadcast);
  storage::row_id announce_opening(const storage::release_record& release, const message& body);
  storage::row_id send_direct(const storage::release_record& release, std::string_view user, const message& body,
                              std::optional<storage::row_id> updates = std::nullopt);
};

// One handler per command; each returns what the asker is told.
outcome handle(handler_context& ctx, const help_command& cmd);
outcome handle(handler_context& ctx, const open_command& cmd);
outcome handle(handler_context& ctx, const list_command& cmd);
outcome handle(handler_context& ctx, const status_command& cmd);
outcome handle(handler_context& ctx, const schedule_command& cmd);
outcome handle(handler_context& ctx, const advance_command& cmd);
outcome handle(handler_context& ctx, const check_command& cmd);
outcome handle(handler_context& ctx, const ready_command& cmd);
outcome handle(handler_context& ctx, const scope_command& cmd);
outcome handle(handler_context& ctx, const close_command& cmd);
outcome handle(handler_context& ctx, const cancel_command& cmd);
outcome handle(handler_context& ctx, const tests_command& cmd);
outcome handle(handler_context& ctx, const build_command& cmd);
outcome handle(handler_context& ctx, const cutoff_command& cmd);
outcome handle(handler_context& ctx, const signoff_command& cmd);
outcome handle(handler_context& ctx, const decide_command& cmd);
outcome handle(handler_context& ctx, const click_command& cmd);
outcome handle(handler_context& ctx, const deploy_command& cmd);
outcome handle(handler_context& ctx, const incident_command& cmd);
outcome handle(handler_context& ctx, const review_command& cmd);
outcome handle(handler_context& ctx, const report_command& cmd);
outcome handle(handler_context& ctx, const audit_command& cmd);
outcome handle(handler_context& ctx, const role_command& cmd);
outcome handle(handler_context& ctx, const roles_command& cmd);

std::string join_words(const std::vector<std::string>& words, std::string_view separator = ", ");

// A confirmation to the asker for a change.
outcome changed_reply(message body);
outcome query_reply(message body, bool make_public = false);

}  // namespace releasebot::commands
