//! The ntpq command table (names, arguments, help texts of the reference
//! ntpq), command line tokenising and command lookup by exact name or
//! unique prefix.

/// Most arguments a command takes.
pub const MAX_ARGS: usize = 4;

/// Kinds of command arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// No argument in this slot.
    None,
    /// A required word (variable list, host name, file name, ...).
    Str,
    /// An optional word.
    OptStr,
    /// A required unsigned number (association ID, key ID, milliseconds).
    Uint,
    /// An optional unsigned number.
    OptUint,
    /// An optional `-4` or `-6` restricting a peer list to one address
    /// family.
    OptIpVersion,
}

impl Arg {
    /// The argument may be left out.
    pub fn optional(self) -> bool {
        matches!(self, Arg::OptStr | Arg::OptUint | Arg::OptIpVersion)
    }
}

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// `?` / `help`: Tell the use and syntax of commands.
    Help,
    /// `timeout`: Set the primary receive time out.
    Timeout,
    /// `host`: Specify the host whose NTP server we talk to.
    Host,
    /// `hostnames`: Specify whether hostnames or net numbers are printed.
    Hostnames,
    /// `debug`: Set/change debugging level.
    Debug,
    /// `quit` / `exit`: Exit ntpq.
    Quit,
    /// `version`: Print version number.
    Version,
    /// `raw`: Do raw mode variable output.
    Raw,
    /// `cooked`: Do cooked mode variable output.
    Cooked,
    /// `ntpversion`: Set the NTP version number to use for requests.
    NtpVersion,
    /// `associations`: Print list of association ID's and statuses for the server's
    /// peers.
    Associations,
    /// `passociations`: Print list of associations returned by last associations
    /// command.
    PAssociations,
    /// `lassociations`: Print list of associations including all client
    /// information.
    LAssociations,
    /// `lpassociations`: Print last obtained list of associations, including client
    /// information.
    LPAssociations,
    /// `addvars`: Add variables to the variable list or change their values.
    AddVars,
    /// `rmvars`: Remove variables from the variable list.
    RmVars,
    /// `clearvars`: Remove all variables from the variable list.
    ClearVars,
    /// `showvars`: Print variables on the variable list.
    ShowVars,
    /// `readlist` / `rl`: Read the system or peer variables included in the
    /// variable list.
    ReadList,
    /// `readvar` / `rv`: Read system or peer variables.
    ReadVar,
    /// `pstats`: Show statistics for a peer.
    Pstats,
    /// `peers`: Obtain and print a list of the server's peers [IP version].
    Peers,
    /// `lpeers`: Obtain and print a list of all peers and clients [IP version].
    LPeers,
    /// `apeers`: Obtain and print a list of the server's peers and their assocIDs
    /// [IP version].
    APeers,
    /// `opeers`: Print peer list the old way, with dstadr shown rather than refid
    /// [IP version].
    OPeers,
    /// `lopeers`: Obtain and print a list of all peers and clients showing dstadr
    /// [IP version].
    LOPeers,
    /// `clockvar` / `cv`: Read clock variables.
    ClockVar,
    /// `clocklist` / `cl`: Read the clock variables included in the variable list.
    ClockList,
    /// `sysinfo`: Display system summary.
    SysInfo,
    /// `kerninfo`: Display kernel loop and PPS statistics.
    KernInfo,
    /// `sysstats`: Display system uptime and packet counts.
    SysStats,
    /// `monstats`: Display monitor (mrulist) counters and limits.
    MonStats,
    /// `iostats`: Display network input and output counters.
    IoStats,
    /// `timerstats`: Display interval timer counters.
    TimerStats,
    /// `authinfo`: Display symmetric authentication counters.
    AuthInfo,
    /// `keyid`: Set keyid to use for authenticated requests.
    KeyId,
    /// `keytype`: Set key type to use for authenticated requests (MD5, SHA1,
    /// SHA256, AES128CMAC).
    KeyType,
    /// `passwd`: Specify a password to use for authenticated requests.
    Passwd,
    /// `authenticate`: Always authenticate requests to this server.
    Authenticate,
    /// `writevar`: Write system or peer variables.
    WriteVar,
    /// `writelist`: Write the system or peer variables included in the variable
    /// list.
    WriteList,
    /// `:config`: Send a remote configuration command to ntpd.
    Config,
    /// `saveconfig`: Save ntpd configuration to file, . for current config file.
    SaveConfig,
    /// `mrulist`: Display the list of most recently seen source addresses, tags
    /// mincount=... resall=0x... resany=0x....
    MruList,
    /// `ifstats`: Show statistics for each local address ntpd is using.
    IfStats,
    /// `reslist`: Show ntpd access control list.
    ResList,
    /// `mreadlist` / `mrl`: Read the peer variables in the variable list for
    /// multiple peers.
    MReadList,
    /// `mreadvar` / `mrv`: Read peer variables from multiple peers.
    MReadVar,
}

/// One entry of the command table.
pub struct CmdDef {
    /// The command's name as typed (a unique prefix also selects it).
    pub name: &'static str,
    /// What it does; aliases (`rv`, `readvar`) share one.
    pub cmd: Cmd,
    /// The kinds of its arguments, [`Arg::None`] past the last.
    pub args: [Arg; MAX_ARGS],
    /// Each argument's name in `help COMMAND` output.
    pub desc: [&'static str; MAX_ARGS],
    /// The one-line description `help COMMAND` prints.
    pub help: &'static str,
}

const fn def(
    name: &'static str,
    cmd: Cmd,
    args: [Arg; MAX_ARGS],
    desc: [&'static str; MAX_ARGS],
    help: &'static str,
) -> CmdDef {
    CmdDef {
        name,
        cmd,
        args,
        desc,
        help,
    }
}

use Arg::None as N;

/// Every command and alias, with its arguments and help text.
pub const COMMANDS: &[CmdDef] = &[
    def(
        "?",
        Cmd::Help,
        [Arg::OptStr, N, N, N],
        ["command", "", "", ""],
        "tell the use and syntax of commands",
    ),
    def(
        "help",
        Cmd::Help,
        [Arg::OptStr, N, N, N],
        ["command", "", "", ""],
        "tell the use and syntax of commands",
    ),
    def(
        "timeout",
        Cmd::Timeout,
        [Arg::OptUint, N, N, N],
        ["msec", "", "", ""],
        "set the primary receive time out",
    ),
    def(
        "host",
        Cmd::Host,
        [Arg::OptStr, Arg::OptStr, N, N],
        ["-4|-6", "hostname", "", ""],
        "specify the host whose NTP server we talk to",
    ),
    def(
        "hostnames",
        Cmd::Hostnames,
        [Arg::OptStr, N, N, N],
        ["yes|no", "", "", ""],
        "specify whether hostnames or net numbers are printed",
    ),
    def(
        "debug",
        Cmd::Debug,
        [Arg::OptStr, N, N, N],
        ["no|more|less", "", "", ""],
        "set/change debugging level",
    ),
    def(
        "quit",
        Cmd::Quit,
        [N, N, N, N],
        ["", "", "", ""],
        "exit ntpq",
    ),
    def(
        "exit",
        Cmd::Quit,
        [N, N, N, N],
        ["", "", "", ""],
        "exit ntpq",
    ),
    def(
        "version",
        Cmd::Version,
        [N, N, N, N],
        ["", "", "", ""],
        "print version number",
    ),
    def(
        "raw",
        Cmd::Raw,
        [N, N, N, N],
        ["", "", "", ""],
        "do raw mode variable output",
    ),
    def(
        "cooked",
        Cmd::Cooked,
        [N, N, N, N],
        ["", "", "", ""],
        "do cooked mode variable output",
    ),
    def(
        "ntpversion",
        Cmd::NtpVersion,
        [Arg::OptUint, N, N, N],
        ["version number", "", "", ""],
        "set the NTP version number to use for requests",
    ),
    def(
        "associations",
        Cmd::Associations,
        [N, N, N, N],
        ["", "", "", ""],
        "print list of association ID's and statuses for the server's peers",
    ),
    def(
        "passociations",
        Cmd::PAssociations,
        [N, N, N, N],
        ["", "", "", ""],
        "print list of associations returned by last associations command",
    ),
    def(
        "lassociations",
        Cmd::LAssociations,
        [N, N, N, N],
        ["", "", "", ""],
        "print list of associations including all client information",
    ),
    def(
        "lpassociations",
        Cmd::LPAssociations,
        [N, N, N, N],
        ["", "", "", ""],
        "print last obtained list of associations, including client information",
    ),
    def(
        "addvars",
        Cmd::AddVars,
        [Arg::Str, N, N, N],
        ["name[=value][,...]", "", "", ""],
        "add variables to the variable list or change their values",
    ),
    def(
        "rmvars",
        Cmd::RmVars,
        [Arg::Str, N, N, N],
        ["name[,...]", "", "", ""],
        "remove variables from the variable list",
    ),
    def(
        "clearvars",
        Cmd::ClearVars,
        [N, N, N, N],
        ["", "", "", ""],
        "remove all variables from the variable list",
    ),
    def(
        "showvars",
        Cmd::ShowVars,
        [N, N, N, N],
        ["", "", "", ""],
        "print variables on the variable list",
    ),
    def(
        "readlist",
        Cmd::ReadList,
        [Arg::OptUint, N, N, N],
        ["assocID", "", "", ""],
        "read the system or peer variables included in the variable list",
    ),
    def(
        "rl",
        Cmd::ReadList,
        [Arg::OptUint, N, N, N],
        ["assocID", "", "", ""],
        "read the system or peer variables included in the variable list",
    ),
    def(
        "readvar",
        Cmd::ReadVar,
        [Arg::OptUint, Arg::OptStr, Arg::OptStr, Arg::OptStr],
        ["assocID", "varname1", "varname2", "varname3"],
        "read system or peer variables",
    ),
    def(
        "rv",
        Cmd::ReadVar,
        [Arg::OptUint, Arg::OptStr, Arg::OptStr, Arg::OptStr],
        ["assocID", "varname1", "varname2", "varname3"],
        "read system or peer variables",
    ),
    def(
        "pstats",
        Cmd::Pstats,
        [Arg::Uint, N, N, N],
        ["assocID", "", "", ""],
        "show statistics for a peer",
    ),
    def(
        "peers",
        Cmd::Peers,
        [Arg::OptIpVersion, N, N, N],
        ["-4|-6", "", "", ""],
        "obtain and print a list of the server's peers [IP version]",
    ),
    def(
        "lpeers",
        Cmd::LPeers,
        [Arg::OptIpVersion, N, N, N],
        ["-4|-6", "", "", ""],
        "obtain and print a list of all peers and clients [IP version]",
    ),
    def(
        "apeers",
        Cmd::APeers,
        [Arg::OptIpVersion, N, N, N],
        ["-4|-6", "", "", ""],
        "obtain and print a list of the server's peers and their assocIDs [IP version]",
    ),
    def(
        "opeers",
        Cmd::OPeers,
        [Arg::OptIpVersion, N, N, N],
        ["-4|-6", "", "", ""],
        "print peer list the old way, with dstadr shown rather than refid [IP version]",
    ),
    def(
        "lopeers",
        Cmd::LOPeers,
        [Arg::OptIpVersion, N, N, N],
        ["-4|-6", "", "", ""],
        "obtain and print a list of all peers and clients showing dstadr [IP version]",
    ),
    def(
        "clocklist",
        Cmd::ClockList,
        [Arg::OptUint, N, N, N],
        ["assocID", "", "", ""],
        "read the clock variables included in the variable list",
    ),
    def(
        "cl",
        Cmd::ClockList,
        [Arg::OptUint, N, N, N],
        ["assocID", "", "", ""],
        "read the clock variables included in the variable list",
    ),
    def(
        "clockvar",
        Cmd::ClockVar,
        [Arg::OptUint, Arg::OptStr, N, N],
        ["assocID", "name=value[,...]", "", ""],
        "read clock variables",
    ),
    def(
        "cv",
        Cmd::ClockVar,
        [Arg::OptUint, Arg::OptStr, N, N],
        ["assocID", "name=value[,...]", "", ""],
        "read clock variables",
    ),
    def(
        "monstats",
        Cmd::MonStats,
        [N, N, N, N],
        ["", "", "", ""],
        "display monitor (mrulist) counters and limits",
    ),
    def(
        "iostats",
        Cmd::IoStats,
        [N, N, N, N],
        ["", "", "", ""],
        "display network input and output counters",
    ),
    def(
        "timerstats",
        Cmd::TimerStats,
        [N, N, N, N],
        ["", "", "", ""],
        "display interval timer counters",
    ),
    def(
        "authinfo",
        Cmd::AuthInfo,
        [N, N, N, N],
        ["", "", "", ""],
        "display symmetric authentication counters",
    ),
    def(
        "keyid",
        Cmd::KeyId,
        [Arg::OptUint, N, N, N],
        ["key#", "", "", ""],
        "set keyid to use for authenticated requests",
    ),
    def(
        "keytype",
        Cmd::KeyType,
        [Arg::OptStr, N, N, N],
        ["digest-name", "", "", ""],
        "set key type to use for authenticated requests (MD5, SHA1, SHA256, AES128CMAC)",
    ),
    def(
        "passwd",
        Cmd::Passwd,
        [Arg::OptStr, N, N, N],
        ["", "", "", ""],
        "specify a password to use for authenticated requests",
    ),
    def(
        "authenticate",
        Cmd::Authenticate,
        [Arg::OptStr, N, N, N],
        ["yes|no", "", "", ""],
        "always authenticate requests to this server",
    ),
    def(
        "writevar",
        Cmd::WriteVar,
        [Arg::Uint, Arg::Str, N, N],
        ["assocID", "name=value,[...]", "", ""],
        "write system or peer variables",
    ),
    def(
        "writelist",
        Cmd::WriteList,
        [Arg::OptUint, N, N, N],
        ["assocID", "", "", ""],
        "write the system or peer variables included in the variable list",
    ),
    def(
        ":config",
        Cmd::Config,
        [Arg::Str, N, N, N],
        ["<configuration command line>", "", "", ""],
        "send a remote configuration command to ntpd",
    ),
    def(
        "saveconfig",
        Cmd::SaveConfig,
        [Arg::Str, N, N, N],
        ["filename", "", "", ""],
        "save ntpd configuration to file, . for current config file",
    ),
    def("mrulist", Cmd::MruList, [Arg::OptStr, Arg::OptStr, Arg::OptStr, Arg::OptStr], ["tag=value", "tag=value", "tag=value", "tag=value"], "display the list of most recently seen source addresses, tags mincount=... resall=0x... resany=0x..."),
    def("ifstats", Cmd::IfStats, [N, N, N, N], ["", "", "", ""], "show statistics for each local address ntpd is using"),
    def("reslist", Cmd::ResList, [N, N, N, N], ["", "", "", ""], "show ntpd access control list"),
    def("mreadlist", Cmd::MReadList, [Arg::Uint, Arg::Uint, N, N], ["assocIDlow", "assocIDhigh", "", ""], "read the peer variables in the variable list for multiple peers"),
    def("mrl", Cmd::MReadList, [Arg::Uint, Arg::Uint, N, N], ["assocIDlow", "assocIDhigh", "", ""], "read the peer variables in the variable list for multiple peers"),
    def("mreadvar", Cmd::MReadVar, [Arg::Uint, Arg::Uint, Arg::OptStr, N], ["assocIDlow", "assocIDhigh", "name=value[,...]", ""], "read peer variables from multiple peers"),
    def("mrv", Cmd::MReadVar, [Arg::Uint, Arg::Uint, Arg::OptStr, N], ["assocIDlow", "assocIDhigh", "name=value[,...]", ""], "read peer variables from multiple peers"),
    def(
        "sysinfo",
        Cmd::SysInfo,
        [N, N, N, N],
        ["", "", "", ""],
        "display system summary",
    ),
    def(
        "kerninfo",
        Cmd::KernInfo,
        [N, N, N, N],
        ["", "", "", ""],
        "display kernel loop and PPS statistics",
    ),
    def(
        "sysstats",
        Cmd::SysStats,
        [N, N, N, N],
        ["", "", "", ""],
        "display system uptime and packet counts",
    ),
];

/// Splits a command line into tokens: white space separates, a token
/// starting with `"` runs to the next `"`.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|&c| c == ' ' || c == '\t') {
            chars.next();
        }
        if tokens.len() == 1 && tokens[0].starts_with(':') {
            let rest: String = chars
                .by_ref()
                .take_while(|&c| c != '\n' && c != '\r')
                .collect();
            if !rest.is_empty() {
                tokens.push(rest);
            }
            break;
        }
        match chars.peek() {
            None | Some('\n' | '\r') => break,
            Some('"') => {
                chars.next();
                let mut t = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '"' || c == '\n' || c == '\r' {
                        break;
                    }
                    t.push(c);
                    chars.next();
                }
                // The closing quote ends the token.
                if chars.peek() == Some(&'"') {
                    chars.next();
                }
                tokens.push(t);
            }
            Some(_) => {
                let mut t = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '"' | ' ' | '\t' | '\n' | '\r') {
                        break;
                    }
                    t.push(c);
                    chars.next();
                }
                tokens.push(t);
            }
        }
    }
    tokens
}

/// Exact match, else the unique prefix match; `Err(n)` with the number of
/// matches otherwise.
pub fn find_command(word: &str) -> Result<&'static CmdDef, usize> {
    if let Some(d) = COMMANDS.iter().find(|d| d.name == word) {
        return Ok(d);
    }
    let near: Vec<&CmdDef> = COMMANDS
        .iter()
        .filter(|d| !word.is_empty() && d.name.starts_with(word))
        .collect();
    match near.as_slice() {
        [one] => Ok(one),
        other => Err(other.len()),
    }
}

/// The reference's usage line of a command.
pub fn usage(d: &CmdDef) -> String {
    let mut s = format!("usage: {}", d.name);
    for (a, desc) in d.args.iter().zip(d.desc) {
        if *a == Arg::None {
            break;
        }
        if a.optional() {
            s.push_str(&format!(" [ {desc} ]"));
        } else {
            s.push_str(&format!(" {desc}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_quotes() {
        assert_eq!(tokenize("rv &1"), vec!["rv", "&1"]);
        assert_eq!(tokenize("  rv 0  cert\n"), vec!["rv", "0", "cert"]);
        assert_eq!(tokenize("rv 0 \"a b\" c"), vec!["rv", "0", "a b", "c"]);
        assert!(tokenize("   ").is_empty());
        assert_eq!(
            tokenize(":config server 10.0.0.1 iburst"),
            vec![":config", "server 10.0.0.1 iburst"]
        );
    }

    #[test]
    fn command_lookup() {
        assert_eq!(find_command("as").unwrap().cmd, Cmd::Associations);
        assert_eq!(find_command("pe").unwrap().cmd, Cmd::Peers);
        assert_eq!(find_command("rv").unwrap().cmd, Cmd::ReadVar);
        assert_eq!(find_command("sysi").unwrap().cmd, Cmd::SysInfo);
        assert!(matches!(find_command("sys"), Err(2)));
        assert!(matches!(find_command("frobnicate"), Err(0)));
        assert_eq!(
            usage(find_command("rv").unwrap()),
            "usage: rv [ assocID ] [ varname1 ] [ varname2 ] [ varname3 ]"
        );
    }
}
