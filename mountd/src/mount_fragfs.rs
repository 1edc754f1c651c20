//! `mount-fragfs`, installed as `/sbin/mount.fragfs`: the helper mount(8)
//! runs for `mount -t fragfs`; see
//! [`fragfs_mountd::helper`].

fn main() -> std::process::ExitCode {
    fragfs_mountd::helper::daemon::main()
}
