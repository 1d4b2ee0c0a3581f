# Pins (plan/pin.c): every directory of a writable area on the way to a
# mount is bound onto itself, so the command cannot rename, exchange or
# remove it and rebuild the path around a protected or hidden one.
#
# The attack these cases try: a workspace nested below /tmp (writable
# under workspace-write); the command moves an ancestor away and recreates
# the workspace's path with a .git/hooks/pre-commit of its own, which the
# user's next `git commit` on the host would run. Each case checks the
# kernel's answer inside and, on the host, that the hook is not where git
# looks for it and the workspace's .git is still the original directory.

pin_rename2() {
	echo "$(dirname "$PROBE")/rename2"
}

# pin_repo: WS three levels below the case dir (all inside /tmp), a git
# repository; PIN_L1..PIN_L3 its ancestors, GIT_INO the .git's inode.
pin_repo() {
	PIN_L1=$CASE_DIR/l1
	PIN_L2=$PIN_L1/l2
	PIN_L3=$PIN_L2/l3
	WS=$PIN_L3/ws
	mkdir -p "$WS"
	git_q init "$WS"
	GIT_INO=$(stat -c %i "$WS/.git")
}

# The attack's second half, after a rename attempt: plant a hook at the
# workspace's path, as git on the host would find it.
pin_plant() {
	printf 'mkdir -p %q/.git/hooks 2>/dev/null; printf "#!/bin/sh\\ntouch %q/PWNED\\n" > %q/.git/hooks/pre-commit 2>/dev/null; chmod +x %q/.git/hooks/pre-commit 2>/dev/null; true' \
		"$WS" "$CASE_DIR" "$WS" "$WS"
}

# Host side: git finds no planted hook and the .git it uses is the
# original one.
pin_expect_host_intact() {
	local what=$1 hooks
	hooks=$(git -C "$WS" rev-parse --git-path hooks 2>/dev/null)
	case $hooks in /*) ;; *) hooks=$WS/$hooks ;; esac
	expect_absent "$what: no pre-commit hook where git looks for it ($hooks)" "$hooks/pre-commit"
	expect "$what: $WS/.git is still the original directory (inode $GIT_INO)" \
		'[ "$(stat -c %i "$WS/.git" 2>/dev/null)" = "$GIT_INO" ]'
	expect "$what: git on the host names no other hooks directory" \
		'[ -z "$(git -C "$WS" config --get core.hooksPath)" ]'
	expect_absent "$what: no hook ran" "$CASE_DIR/PWNED"
}

# pin_try_rename NAME MODE DIR [TO]: rename (or exchange) DIR inside the
# sandbox, then plant; the kernel must answer EBUSY.
pin_try_rename() {
	local name=$1 mode=$2 dir=$3 to=${4:-$3.moved} r
	r=$(pin_rename2)
	sbx --policy workspace-write -C "$WS" -- "$(printf '%q %q %q %q; ' "$r" "$mode" "$dir" "$to")$(pin_plant)"
	expect_stdout_eq "$name: renameat2 $mode of $dir is refused with EBUSY" "EBUSY"
	expect "$name: $dir still in place on the host" '[ -d "$dir" ]'
	pin_expect_host_intact "$name"
}

case_pin_rename_parent() {
	pin_repo
	pin_try_rename "parent" plain "$PIN_L3"
	pin_try_rename "workspace itself" plain "$WS"
	pin_expect_host_intact "after both"
}

case_pin_rename_grandparent() {
	pin_repo
	pin_try_rename "grandparent" plain "$PIN_L2"
	pin_try_rename "great-grandparent" plain "$PIN_L1"
	pin_try_rename "noreplace grandparent" noreplace "$PIN_L2"
}

# RENAME_EXCHANGE swaps two paths in one step: here an ancestor and a
# prepared decoy whose copy of the workspace carries a hook.
case_pin_rename_exchange() {
	pin_repo
	local lvl decoy
	for lvl in "$PIN_L3" "$PIN_L2" "$PIN_L1"; do
		decoy=$lvl.decoy
		mkdir -p "$decoy"
		cp -a "$lvl/." "$decoy/"
		local rel=${WS#"$lvl"}
		printf '#!/bin/sh\ntouch %s/PWNED\n' "$CASE_DIR" >"$decoy$rel/.git/hooks/pre-commit"
		chmod +x "$decoy$rel/.git/hooks/pre-commit"
		sbx --policy workspace-write -C "$WS" -- "$(printf '%q exchange %q %q' "$(pin_rename2)" "$lvl" "$decoy")"
		expect_stdout_eq "exchange of $lvl with a decoy is refused with EBUSY" "EBUSY"
		sbx --policy workspace-write -C "$WS" -- "$(printf '%q exchange %q %q' "$(pin_rename2)" "$decoy" "$lvl")"
		expect_stdout_eq "exchange of a decoy with $lvl (other order) is refused with EBUSY" "EBUSY"
		pin_expect_host_intact "exchange at $lvl"
		rm -rf "$decoy"
	done
}

case_pin_rmdir_recreate() {
	pin_repo
	echo keep >"$WS/file"
	sbx --policy workspace-write -C "$WS" -- "cd /; rm -rf $(printf %q "$PIN_L2") 2>/dev/null; rmdir $(printf %q "$PIN_L3") $(printf %q "$WS") 2>&1; $(pin_plant)"
	expect_stdout_contains "rmdir of a pinned ancestor fails with EBUSY" "Device or resource busy"
	expect "the pinned directories are still there" '[ -d "$PIN_L3" ] && [ -d "$WS" ]'
	pin_expect_host_intact "rm -rf of the grandparent, then recreate"
}

# $TMPDIR is a writable root of its own under workspace-write.
case_pin_workspace_under_tmpdir() {
	local base
	base=$(mktemp -d "$TMPDIR/pin.XXXXXX")
	base=$(realpath "$base")
	WS=$base/proj/ws
	mkdir -p "$WS"
	git_q init "$WS"
	GIT_INO=$(stat -c %i "$WS/.git")
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain lists the pin of $base/proj" "pin                  $base/proj"
	sbx --policy workspace-write -C "$WS" -- "$(printf '%q plain %q %q; ' "$(pin_rename2)" "$base/proj" "$base/moved")$(printf '%q plain %q %q; ' "$(pin_rename2)" "$base" "$base.moved")$(pin_plant)"
	expect_stdout_eq "renames of \$TMPDIR/... ancestors refused" "$(printf 'EBUSY\nEBUSY')"
	pin_expect_host_intact "workspace under \$TMPDIR"
	rm -rf "$base"
}

# A hidden path inside the workspace: run 1 cannot move its ancestor,
# so run 2 with the same --deny still hides it.
case_pin_deny_ancestor_second_run() {
	new_ws
	mkdir -p "$WS/config/sub" "$WS/other"
	echo SECRET >"$WS/config/sub/.env"
	local deny=(--deny "$WS/config/sub/.env")
	sbx --policy workspace-write -C "$WS" "${deny[@]}" -- \
		"$(printf '%q plain config config2; %q exchange config other; ' "$(pin_rename2)" "$(pin_rename2)")mv config/sub config/sub2 2>/dev/null; cat config2/sub/.env config/sub2/.env config/sub/.env 2>/dev/null; true"
	expect_stdout_eq "run 1: renaming the denied file's ancestors is refused" "$(printf 'EBUSY\nEBUSY')"
	expect "run 1: the host layout is unchanged" '[ -f "$WS/config/sub/.env" ] && [ ! -e "$WS/config2" ] && [ ! -e "$WS/config/sub2" ]'
	sbx --policy workspace-write -C "$WS" "${deny[@]}" -- 'cat config/sub/.env config2/sub/.env config/sub2/.env 2>/dev/null; true'
	expect_stdout_lacks "run 2: the denied file is still unreadable" SECRET

	# Moved on the host (by the user, or a tool outside any sandbox): the
	# denied name is blocked so it cannot be recreated (README: what
	# agentbox does not follow).
	mv "$WS/config" "$WS/config2"
	ab explain --policy workspace-write -C "$WS" "${deny[@]}"
	expect_stdout_contains "missing denied path: its first missing component is blocked" "block-create-file    $WS/config "
	sbx --policy workspace-write -C "$WS" "${deny[@]}" -- 'mkdir -p config/sub 2>/dev/null && echo created; true'
	expect_stdout_lacks "missing denied path cannot be recreated inside" created
}

# An inner writable root below a read-only one, both inside the writable
# workspace: the read-only directory's ancestor cannot be moved away.
case_pin_inner_write_under_outer() {
	new_ws
	mkdir -p "$WS/a/ro/inner"
	echo orig >"$WS/a/ro/f"
	local p=(--policy workspace-write -C "$WS" --read "$WS/a/ro" --write "$WS/a/ro/inner")
	sbx "${p[@]}" -- "$(printf '%q plain a a2; ' "$(pin_rename2)")mkdir -p a/ro 2>/dev/null; echo evil > a/ro/f 2>/dev/null; echo ok > a/ro/inner/w"
	expect_stdout_eq "renaming the read-only root's ancestor is refused" EBUSY
	expect_file_content "the read-only file is unchanged at its path" "$WS/a/ro/f" orig
	expect_file_content "the inner writable root stays writable" "$WS/a/ro/inner/w" ok
	expect_absent "nothing moved" "$WS/a2"
}

# Pins cost a bind each: a workspace outside every writable area needs
# none, and explain names the reason for each pin.
case_pin_explain_only_when_needed() {
	pin_repo
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain: nested workspace's ancestors are pinned" "pin                  $PIN_L1"
	expect_stdout_contains "explain: the pin says why" "pin: keeps $WS"
	new_outside
	git_q init "$OUTSIDE"
	ab explain --policy workspace-write -C "$OUTSIDE"
	expect_stdout_lacks "explain: a workspace outside /tmp needs no pin" "pin                  $OUTSIDE"
}

# Landlock mounts nothing: its rules take the rights to create and remove
# entries from every directory on the way to a narrower rule
# (landlock_rules.c), so the same renames fail there with EACCES.
case_pin_landlock_renames() {
	landlock_case "landlock" || return 0
	pin_repo
	mkdir -p "$WS/config" "$PIN_L2.x"
	echo SECRET >"$WS/config/.env"
	local r
	r=$(pin_rename2)
	sbx --backend landlock --policy workspace-write -C "$WS" --deny "$WS/config/.env" -- \
		"$(printf '%q plain %q %q; %q exchange %q %q; %q plain config config2; ' "$r" "$PIN_L3" "$PIN_L3.m" "$r" "$PIN_L2" "$PIN_L2.x" "$r")$(pin_plant); cat config2/.env 2>/dev/null; true"
	expect_stdout_eq "landlock: parent rename, exchange and the deny path's ancestor are refused" \
		"$(printf 'EACCES\nEACCES\nEACCES')"
	pin_expect_host_intact "landlock"
	rm -rf "$PIN_L2.x"
}
