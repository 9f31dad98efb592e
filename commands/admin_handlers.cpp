// Handlers for administration: the audit trail and role grants.
#include "commands/release_view.hpp"

namespace releasebot::commands {

outcome handle(handler_context& ctx, const audit_command& cmd) {
  message_builder out;
  if (cmd.verify) {
    ctx.require_permission("audit", nullptr);
    const auto result = ctx.audit_trail.verify();
    if (result.intact) {
      out.text("✅ Audit trail intact: " + std::to_string(result.entries) + " entries, every link verified.");
    } else {
      out.text("❌ Audit trail ALTERED: " + result.problem + " (" + std::to_string(result.entries) +
               " entries verified before it).");
    }
    return query_reply(out.build());
  }
  const auto release = ctx.resolve(*cmd.version);
  ctx.require_permission("audit", &release);
  const auto entries = ctx.audit_trail.for_release(release.id);
  out.text("Audit trail of ").strong(release.version).text(" (" + std::to_string(entries.size()) + " entries):").line();
  for (const auto& entry : entries) {
    out.text("#" + std::to_string(entry.seq) + " " + ctx.when(entry.at) + " ");
    ctx.name_actor(out, entry.actor);
    out.text(" via " + entry.platform + ": " + entry.action + " ").user_text(entry.details).line();
  }
  return query_reply(out.build());
}

outcome handle(handler_context& ctx, const role_command& cmd) {
  ctx.require_permission("role", nullptr);
  if (!ctx.rules.has_role(cmd.role)) {
    ctx.refuse("'" + cmd.role + "' is not a role — use one of: " + join_words(ctx.rules.roles));
  }
  const bool add = cmd.operation == "add";
  const bool did = add ? ctx.grants.grant(cmd.user, cmd.role, ctx.from.user, ctx.from.now)
                       : ctx.grants.revoke(cmd.user, cmd.role);
  message_builder reply;
  if (!did) {
    reply.mention(cmd.user).text(add ? " already holds " + cmd.role + "." : " does not hold " + cmd.role + ".");
    return query_reply(reply.build());
  }
  ctx.audit(nullptr, add ? "role_grant" : "role_revoke", {{"user", cmd.user}, {"role", cmd.role}});
  reply.text(add ? "Granted " : "Removed ").text(cmd.role).text(add ? " to " : " from ").mention(cmd.user).text(".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const roles_command& cmd) {
  ctx.require_permission("role", nullptr);
  message_builder out;
  if (cmd.user) {
    const auto roles = ctx.grants.roles_of(*cmd.user);
    out.mention(*cmd.user).text(roles.empty() ? " holds no role" : " holds: " + join_words(roles));
    if (ctx.is_admin(*cmd.user)) out.text(" (and is an admin)");
    return query_reply(out.build());
  }
  const auto everyone = ctx.grants.everyone();
  if (everyone.empty()) out.text("Nobody holds a role yet — grant one with role @user add <role>.").line();
  for (const auto& [user, roles] : everyone) out.mention(user).text(": " + join_words(roles)).line();
  out.text("Admins (from config): ");
  if (ctx.settings.admins.empty()) out.text("none");
  for (std::size_t i = 0; i < ctx.settings.admins.size(); ++i) out.text(i == 0 ? "" : ", ").mention(ctx.settings.admins[i]);
  return query_reply(out.build());
}

}  // namespace releasebot::commands
