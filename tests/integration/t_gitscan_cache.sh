# The nested-repository scan's cache (issue #17, src/plan/git_scan_cache.c):
# a repository that appears after the cache was written, by any route the
# scan could miss, is found by the next run and its .git is read-only
# inside. Each workspace first shows the cache in use, so that what is
# tested is the cache being refused, not a scan that walked anyway.

# gsc_tree: a workspace with the deepest scanned level (a/b/c/d, depth
# 4), a skipped tree (node_modules) and a plain one (src/lib).
gsc_tree() {
	new_ws
	mkdir -p "$WS/a/b/c/d" "$WS/node_modules/pkg" "$WS/src/lib"
	echo x >"$WS/src/lib/f.txt"
}

# gsc_cached NAME: the scan of $WS comes from the cache (it was saved
# by the run before, when the tree had settled).
gsc_cached() {
	ab explain --policy workspace-write -C "$WS"
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "$1: before the change the scan comes from the cache" \
		"git scan of $WS: depth 4 (--git-scan-depth)"
	expect_stdout_contains "$1: ... (from the cache)" "(from the cache: every directory it read is unchanged)"
}

# gsc_found NAME REPO: the next run finds REPO ($WS-relative): its .git
# cannot be written inside, and explain lists it with a fresh scan.
gsc_found() {
	local name=$1 repo=$2
	sbx --policy workspace-write -C "$WS" -- "
		touch $repo/.git/hooks/planted 2>/dev/null && echo hook-written
		echo x >> $repo/.git/config 2>/dev/null && echo config-written
		mv $repo/.git $repo/git-moved 2>/dev/null && echo renamed
		true"
	expect_exit "$name: the run works" 0
	expect_stdout_eq "$name: the new repository's .git is read-only inside" ""
	expect_absent "$name: no hook planted on the host" "$WS/$repo/.git/hooks/planted"
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "$name: explain lists it as a nested repository" "$WS/$repo/.git"
}

case_git_scan_cache_never_misses_a_new_repository() {
	local names=(depth1 deepest moved1 moveddeep skipped pointer replaced) n
	declare -A ws
	new_outside
	for n in "${names[@]}"; do
		gsc_tree
		ws[$n]=$WS
	done
	git_q init "$OUTSIDE/m1"
	git_q init "$OUTSIDE/m4"
	git_q init "$OUTSIDE/gd-owner"
	mkdir -p "$OUTSIDE/newsrc/lib"
	git_q init "$OUTSIDE/newsrc/lib"
	# directories changed in the last two seconds are not trusted by
	# their times (the settle window): let the trees settle, so that the
	# cache is in use before each change below
	sleep 3

	WS=${ws[depth1]}
	gsc_cached depth1
	git_q init "$WS/new1"
	gsc_found "created at depth 1" new1

	WS=${ws[deepest]}
	gsc_cached deepest
	git_q init "$WS/a/b/c/d"
	gsc_found "created at the deepest scanned level (4)" a/b/c/d

	WS=${ws[moved1]}
	gsc_cached moved1
	mv "$OUTSIDE/m1" "$WS/m1"
	gsc_found "moved in by rename at depth 1" m1

	WS=${ws[moveddeep]}
	gsc_cached moveddeep
	mv "$OUTSIDE/m4" "$WS/a/b/c/m4"
	gsc_found "moved in by rename at depth 4" a/b/c/m4

	WS=${ws[skipped]}
	gsc_cached skipped
	git_q init "$WS/node_modules"
	gsc_found "created in a skipped tree (node_modules)" node_modules

	WS=${ws[pointer]}
	gsc_cached pointer
	printf 'gitdir: %s\n' "$OUTSIDE/gd-owner/.git" >"$WS/src/lib/.git"
	sbx --policy workspace-write -C "$WS" -- '
		echo "gitdir: ../../evil" > src/lib/.git 2>/dev/null && echo pointer-rewritten
		rm -f src/lib/.git 2>/dev/null && echo pointer-removed
		true'
	expect_exit "a .git pointer file: the run works" 0
	expect_stdout_eq "a .git pointer file made after the cache: read-only inside" ""
	expect_file_content "... and unchanged on the host" "$WS/src/lib/.git" "gitdir: $OUTSIDE/gd-owner/.git"
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "... explain lists the pointer file" "nested repository $WS/src/lib, depth 2 (git scan): its .git pointer file"

	WS=${ws[replaced]}
	gsc_cached replaced
	mv "$WS/src" "$OUTSIDE/oldsrc"
	mv "$OUTSIDE/newsrc" "$WS/src"
	gsc_found "a directory replaced by another of the same name holding a repository" src/lib
}

case_git_scan_cache_switched_off() {
	gsc_tree
	git_q init "$WS/a/r"
	AGENTBOX_GLOB_CACHE=0 ab explain --policy workspace-write -C "$WS"
	AGENTBOX_GLOB_CACHE=0 ab explain --policy workspace-write -C "$WS"
	expect_stdout_lacks "AGENTBOX_GLOB_CACHE=0: the scan walks every time" "from the cache"
	expect_stdout_contains "... and finds the repository" "$WS/a/r/.git"
}
