/* The socket never-list: host sockets (and the directories that hold
 * them) that hand whoever connects more power than the sandbox has, so
 * the namespace backends hide them in every network mode, --net full
 * included. This table is the one place in the code that lists them;
 * README.md lists them for users (keep both in step).
 *
 * Why hide and not trust permissions: the namespace backends keep the
 * caller's supplementary groups, so a docker.sock owned by group docker
 * is as reachable inside as outside, and the user's own runtime
 * directory (ssh-agent, the session bus, where `systemd-run --user`
 * means running outside the sandbox) needs no group at all.
 *
 * A path may start with $XDG_RUNTIME_DIR (skipped when it is unset or
 * relative) or contain $UID (the caller's real uid). A directory entry
 * hides everything in it with one empty read-only tmpfs; a socket entry
 * is covered by an empty read-only file. Only paths that exist on the
 * host and that the plan leaves visible cost a mount (plan/sockets.c).
 *
 * Left visible on purpose: systemd's journal sockets in
 * /run/systemd/journal (`logger` and `systemd-cat` write to them; a
 * line in the journal is no privilege, and the entry names the sandbox's
 * process). */
#include <stddef.h>

#include "policy/policy.h"

const struct socket_never policy_socket_never_list[] = {
	/* first: the entries below that lie inside them then cost nothing */
	{"/run/user/$UID", "the user's runtime directory: ssh-agent, gpg-agent, session bus, PulseAudio, PipeWire, Wayland"},
	{"$XDG_RUNTIME_DIR", "the user's runtime directory: ssh-agent, gpg-agent, session bus, PulseAudio, PipeWire, Wayland"},
	{"/run/docker.sock", "Docker daemon: root on the host"},
	{"/var/run/docker.sock", "Docker daemon: root on the host"},
	{"/run/docker", "Docker's other sockets (plugins, its containerd)"},
	{"$XDG_RUNTIME_DIR/docker.sock", "rootless Docker: the user's containers, outside the sandbox"},
	{"/run/containerd", "containerd (and its shims): root on the host"},
	{"/run/k3s/containerd", "k3s's containerd: root on the host"},
	{"/run/buildkit", "BuildKit daemon: builds run as root"},
	{"/run/cri-dockerd.sock", "cri-dockerd: root on the host"},
	{"/run/podman", "Podman service: root on the host"},
	{"$XDG_RUNTIME_DIR/podman", "rootless Podman service: the user's containers"},
	{"/run/crio", "CRI-O: root on the host"},
	{"/run/dbus/system_bus_socket", "D-Bus system bus: system services (polkit, systemd, NetworkManager)"},
	{"/var/run/dbus/system_bus_socket", "D-Bus system bus: system services (polkit, systemd, NetworkManager)"},
	{"$XDG_RUNTIME_DIR/bus", "D-Bus session bus: systemd-run --user runs commands outside the sandbox"},
	{"/run/systemd/private", "systemd's private manager bus: starts and stops services"},
	{"/run/systemd/notify", "systemd's notification socket: service state messages"},
	{"/run/systemd/userdb", "systemd's user database services (varlink)"},
	{"/tmp/.X11-unix", "X11 display sockets: keystrokes and screen of the user's session"},
	{"/tmp/.ICE-unix", "X session manager sockets"},
	{"/run/snapd.socket", "snapd: installs software as root"},
	{"/run/snapd-snap.socket", "snapd's socket for snaps"},
	{"/run/libvirt", "libvirt: virtual machines, root on the host"},
	{"/var/run/libvirt", "libvirt: virtual machines, root on the host"},
	{"/var/lib/lxd/unix.socket", "LXD: root on the host"},
	{"/var/snap/lxd/common/lxd/unix.socket", "LXD (snap): root on the host"},
	{"/var/lib/incus/unix.socket", "Incus: root on the host"},
	{"/run/incus", "Incus: root on the host"},
	{"/run/nscd", "name service cache daemon: its socket is shared with the host's other users"},
	{"/run/avahi-daemon/socket", "Avahi: publishes services on the local network"},
	{"/run/cups/cups.sock", "CUPS: printers and print jobs"},
	{"/run/udev/control", "udev control: reloads rules, triggers devices"},
	{"/run/polkit", "polkit agents"},
	{NULL, NULL},
};
