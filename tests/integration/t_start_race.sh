# The protected paths as the plan saw them, on every backend: a writer that
# swaps a workspace's .git while agentbox starts must never end up with the
# command writing into the git directory the plan protected. Every start
# either runs with that directory read-only or refuses (125, with a message
# naming the path). bwrap resolves each path again while it mounts, so the
# inner stage checks afterwards what it finds there against the identities
# the plan recorded; the built-in engine checks them at mount time too.

# exchange A B: swaps the two names in one step (renameat2 RENAME_EXCHANGE).
exchange() {
	perl -e 'syscall($ARGV[0] + 0, -100, $ARGV[1], -100, $ARGV[2], 2) == 0 or die "exchange $ARGV[1] $ARGV[2]: $!\n"' \
		"$(renameat2_nr)" "$1" "$2"
}

# can_exchange: whether this file system and kernel swap names atomically
# (the races below are built on it).
can_exchange() {
	local a=$CASE_DIR/xa b=$CASE_DIR/xb
	mkdir "$a" "$b" && exchange "$a" "$b" 2>/dev/null
	local r=$?
	rmdir "$a" "$b"
	return $r
}

# real_git: the repository's own git directory wherever the swaps have
# left it (the one holding HEAD among .git and ALT).
real_git() {
	if [ ! -L "$WS/.git" ] && [ -f "$WS/.git/HEAD" ]; then
		echo "$WS/.git"
	else
		echo "$1"
	fi
}

# planted DIR: the planted-* files in DIR, on one line.
planted() {
	find "$1" -maxdepth 1 -name 'planted*' -printf '%f ' 2>/dev/null
}

# ---------------------------------------------------------------- held start

# held_run SWAPPED ALT ACTION AGENTBOX-ARGS...: one agentbox start in which
# SWAPPED and ALT trade places after planning and before the sandbox is
# built, and trade back once the command runs; the command then runs the
# shell snippet ACTION in $WS.
#
# How the start is held: $WS/.agentbox is a placeholder (mode 01444) on
# which this script holds an exclusive flock, so agentbox, after resolving
# the plan, waits for its shared lock (placeholders.h: up to 2 s) before
# any mount is made. Sets RC, OUT, ERR, STARTED (yes/no), HELD (yes/no).
held_run() {
	local swapped=$1 alt=$2 action=$3 started=$CASE_DIR/started
	local go=$CASE_DIR/go pid i
	shift 3
	rm -rf "$started" "$go" "$WS/.agentbox"
	mkdir "$WS/.agentbox"
	chmod 01444 "$WS/.agentbox"
	# The lock belongs to the open file of fd 8, which only this shell
	# keeps (agentbox is started without it): closing it releases it.
	exec 8<"$WS/.agentbox"
	flock -x 8
	LAST_CMD="agentbox run $* -C $WS -- sh -c '$action' (held after planning)"
	"$AGENTBOX" run "$@" -C "$WS" -- sh -c '
		: >"$1"
		i=0
		while [ ! -e "$2" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
		eval "$3"
		exit 0' sh "$started" "$go" "$action" \
		</dev/null >"$CASE_DIR/.out" 2>"$CASE_DIR/.err" 8<&- &
	pid=$!
	HELD=no
	for ((i = 0; i < 100; i++)); do
		# waiting between tries for the lock (placeholders.c)
		if [[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" == *nanosleep* ]] && [ ! -e "$started" ]; then
			HELD=yes
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	exchange "$swapped" "$alt"
	exec 8<&-
	# until the command runs, or agentbox has refused
	for ((i = 0; i < 500; i++)); do
		[ -e "$started" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	exchange "$swapped" "$alt"
	: >"$go"
	wait "$pid"
	RC=$?
	STARTED=$([ -e "$started" ] && echo yes || echo no)
	OUT=$(cat "$CASE_DIR/.out")
	ERR=$(cat "$CASE_DIR/.err")
}

# expect_held_refusal LABEL PATH: the held start was refused before the
# command existed, with a message naming PATH.
expect_held_refusal() {
	local label=$1 path=$2
	expect "$label: agentbox was held between planning and mounting (waiting for a placeholder's lock)" \
		'[ "$HELD" = yes ]'
	expect_exit "$label: refused with 125" 125
	expect_stderr_matches "$label: the message starts with agentbox: and names $path" \
		"^agentbox: .*$path"
	expect_stderr_matches "$label: the message says what was found there" \
		"not what agentbox planned|no longer the file agentbox resolved|symbolic link"
	expect "$label: the command never started" '[ "$STARTED" = no ] && [ -z "$OUT" ]'
}

# Deterministic: whatever the backend finds at .git when it builds the
# sandbox (a symlink to a decoy, or another directory), it is not what the
# plan resolved, and the run must be refused before the command exists.
case_start_race_git_swapped_between_planning_and_mounts() {
	if ! can_exchange; then
		skip "swaps between planning and mounting" "renameat2(RENAME_EXCHANGE) is not available here"
		return
	fi
	new_ws
	git_q init "$WS"
	mkdir "$WS/decoy" "$WS/.git-twin"
	echo decoy >"$WS/decoy/f"
	echo twin >"$WS/.git-twin/f"
	ln -s decoy "$WS/.git-link"
	local alt label
	for alt in "$WS/.git-link" "$WS/.git-twin"; do
		if [ -L "$alt" ]; then
			label=".git swapped for a symlink to a directory"
		else
			label=".git swapped for another directory"
		fi
		held_run "$WS/.git" "$alt" 'touch .git/planted 2>/dev/null && echo planted' \
			--policy workspace-write
		expect_held_refusal "$label" "$WS/\\.git"
		expect "$label: nothing was planted in the real git directory" \
			'[ -z "$(planted "$(real_git "$alt")")" ] && [ -f "$WS/.git/HEAD" ]'
		expect "$label: the swaps left the workspace as it was" \
			'[ -L "$WS/.git-link" ] && [ -f "$WS/.git-twin/f" ] && [ -z "$(planted "$WS/decoy")$(planted "$WS/.git-twin")" ]'
	done
}

# A hidden directory swapped the same way. With a symlink every backend
# refuses. With another directory the built-in engine refuses at mount
# time; bwrap mounts its tmpfs on whatever directory is at the path then,
# and what a tmpfs covers cannot be seen from inside the sandbox, so no
# check there can tell the planned directory from another one (README:
# "the paths as the plan saw them").
case_start_race_hidden_dir_swapped_between_planning_and_mounts() {
	if ! can_exchange; then
		skip "hidden dir swaps between planning and mounting" "renameat2(RENAME_EXCHANGE) is not available here"
		return
	fi
	new_ws
	mkdir "$WS/secrets" "$WS/decoy" "$WS/twin"
	echo secret-5f1e >"$WS/secrets/s"
	echo twin >"$WS/twin/t"
	ln -s decoy "$WS/secrets-link"
	local alt label
	for alt in "$WS/secrets-link" "$WS/twin"; do
		if [ -L "$alt" ]; then
			label="--deny of a dir swapped for a symlink to a directory"
		else
			label="--deny of a dir swapped for another directory"
			if [ "$BACKEND" = bwrap ]; then
				skip "$label" "bwrap mounts the tmpfs by path, and what a tmpfs covers cannot be checked from inside (README)"
				continue
			fi
		fi
		held_run "$WS/secrets" "$alt" 'cat secrets/s 2>/dev/null; echo w 2>/dev/null >secrets/w' \
			--policy workspace-write --deny "$WS/secrets"
		expect_held_refusal "$label" "$WS/secrets"
		expect "$label: the secret stayed hidden" '[[ "$OUT" != *secret-5f1e* ]]'
		expect_absent "$label: nothing was written into the hidden directory" "$WS/secrets/w"
		expect "$label: the swaps left the workspace as it was" \
			'[ -L "$WS/secrets-link" ] && [ -f "$WS/secrets/s" ] && [ -f "$WS/twin/t" ]'
	done
}

# ---------------------------------------------------------------- racer

# start_racer A B MICROSECONDS: swaps A and B in a loop, pausing between
# swaps, until stop_racer (which sets SWAPS to the number of swaps).
start_racer() {
	RACER_STAT=$CASE_DIR/racer.stat
	perl -e '
		use strict;
		use Time::HiRes qw(usleep);
		my ($nr, $a, $b, $us, $stat) = @ARGV;
		my ($n, $stop) = (0, 0);
		$SIG{TERM} = sub { $stop = 1 };
		while (!$stop) {
			syscall($nr + 0, -100, $a, -100, $b, 2) == 0 or last;
			$n++;
			usleep($us);
		}
		# leave the names as they were found
		syscall($nr + 0, -100, $a, -100, $b, 2) if $n % 2;
		open(my $f, ">", $stat) or exit 1;
		print $f "$n\n";
	' "$(renameat2_nr)" "$1" "$2" "$3" "$RACER_STAT" &
	RACER_PID=$!
	bg_track "$RACER_PID"
}

stop_racer() {
	kill -TERM "$RACER_PID" 2>/dev/null
	wait "$RACER_PID" 2>/dev/null
	SWAPS=$(cat "$RACER_STAT" 2>/dev/null)
	SWAPS=${SWAPS:-unknown}
}

# The finding of the security review: a writer swapping .git and a symlink
# to another directory in a loop while 60 runs start, each trying to plant
# a file in the real git directory. One swap per millisecond leaves each
# state in place long enough for a start to plan with one and mount with
# the other (what let 7 of 60 bwrap runs start with .git writable).
case_start_race_git_symlink_swap_loop() {
	if ! can_exchange; then
		skip "60 starts under a .git/symlink swap loop" "renameat2(RENAME_EXCHANGE) is not available here"
		return
	fi
	git_swap_loop
}

# The same against the Landlock backend (no mounts: the rules are opened by
# path, from / without following any link, and checked against what the
# plan and the listing resolved). It picks --backend landlock itself, so it
# runs in the builtin variant only.
case_start_race_landlock_git_symlink_swap_loop() {
	if [ "$BACKEND" != builtin ] || [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "60 Landlock starts under a .git/symlink swap loop" "run only in the builtin variant (it picks --backend landlock itself)"
		return
	fi
	if ! "$AGENTBOX" explain --backend landlock >/dev/null 2>&1; then
		skip "60 Landlock starts under a .git/symlink swap loop" "no usable Landlock here"
		return
	fi
	if ! can_exchange; then
		skip "60 Landlock starts under a .git/symlink swap loop" "renameat2(RENAME_EXCHANGE) is not available here"
		return
	fi
	git_swap_loop --backend landlock
}

# git_swap_loop [AGENTBOX-RUN-ARGS...]: the 60 starts under the swap loop.
git_swap_loop() {
	new_ws
	git_q init "$WS"
	mkdir "$WS/decoy"
	ln -s decoy "$WS/.git-link"
	local i runs=60 ran=0 refused=0 problems=() started=$SECONDS real
	start_racer "$WS/.git" "$WS/.git-link" 1000
	for ((i = 1; i <= runs; i++)); do
		ab run "$@" --policy workspace-write -C "$WS" -- sh -c \
			'echo RAN; touch ".git/planted-$1" 2>/dev/null; exit 0' sh "$i"
		case $RC in
		0)
			ran=$((ran + 1))
			[[ "$OUT" == RAN* ]] || problems+=("run $i: exit 0 without the command's output")
			;;
		125)
			refused=$((refused + 1))
			[[ "$ERR" == agentbox:* ]] ||
				problems+=("run $i: exit 125 without an agentbox: message: ${ERR:0:300}")
			[[ "$ERR" == *"$WS/.git"* ]] ||
				problems+=("run $i: the refusal does not name $WS/.git: ${ERR:0:300}")
			[[ "$OUT" != *RAN* ]] || problems+=("run $i: refused, but the command ran")
			;;
		*)
			problems+=("run $i: exit status $RC: ${ERR:0:300}")
			;;
		esac
		if ((SECONDS - started > 50)); then
			problems+=("stopped after $i runs: over 50 s")
			break
		fi
	done
	stop_racer
	real=$(real_git "$WS/.git-link")
	local plants
	plants=$(planted "$real")
	if [ ${#problems[@]} -eq 0 ]; then
		ok "$runs starts under $SWAPS swaps of .git and a symlink: $ran ran, $refused refused, each with a message"
	else
		LAST_CMD=""
		fail "$runs starts under $SWAPS swaps of .git and a symlink: $ran ran, $refused refused" \
			"${problems[@]:0:12}"
	fi
	expect "no run planted a file in the real git directory${plants:+ (found: $plants)}" '[ -z "$plants" ]'
	expect "the real git directory is back at .git after the racer stopped" '[ "$real" = "$WS/.git" ]'
	expect "the case took under 60 s ($((SECONDS - started)) s)" '[ $((SECONDS - started)) -lt 60 ]'
}
