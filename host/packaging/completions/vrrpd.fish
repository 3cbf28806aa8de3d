# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vrrpd_global_optspecs
    string join \n h/help V/version
end

function __fish_vrrpd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vrrpd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vrrpd_using_subcommand
    set -l cmd (__fish_vrrpd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vrrpd -n "__fish_vrrpd_needs_command" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -s V -l version -d 'Print version'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "run" -d 'Run the daemon in the foreground'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "check" -d 'Validate a configuration file and print what would run, with RFC 9568 timers'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "status" -d 'Ask the running daemon for its state (its HTTP status endpoint)'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "ctl" -d 'Drain this node or change a router\'s priority while the daemon runs (its control socket)'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "import-keepalived" -d 'Convert a keepalived.conf (the vrrp_instance / vrrp_script subset) into a vrrpd config'
complete -c vrrpd -n "__fish_vrrpd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand run" -s c -l config -d 'Configuration file (TOML; see host/examples/vrrpd.toml)' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand run" -l log-format -d 'Log format; overrides `log.format` from the file' -r -f -a "human\t''
json\t''"
complete -c vrrpd -n "__fish_vrrpd_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand check" -s c -l config -d 'Configuration file to validate' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand check" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand status" -l addr -d 'The status endpoint [default: 127.0.0.1:9100]' -r
complete -c vrrpd -n "__fish_vrrpd_using_subcommand status" -s c -l config -d 'Take the endpoint from this file\'s `status.listen`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand status" -l json -d 'Print the daemon\'s JSON as is'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand status" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "drain" -d 'Priority 0: an Active steps down at once (a Backup takes over after Skew_Time), and the router is never Active until undrained'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "undrain" -d 'Back to the configured (or set) priority'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "set-priority" -d 'Run at N (1..=254) instead of the configured priority; checks still apply'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "reset" -d 'Forget what was drained or set'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "show" -d 'What is drained or set'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and not __fish_seen_subcommand_from drain undrain set-priority reset show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from drain" -l vrid -d 'Only this virtual router and the other members of its sync group [default: all]' -r
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from drain" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from drain" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from drain" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from undrain" -l vrid -r
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from undrain" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from undrain" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from undrain" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from set-priority" -l vrid -r
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from set-priority" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from set-priority" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from set-priority" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from reset" -l vrid -r
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from reset" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from reset" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from show" -l socket -d 'The control socket [default: the daemon\'s, for this network namespace]' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from show" -s c -l config -d 'Take the socket from this file\'s `control.socket`' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "drain" -d 'Priority 0: an Active steps down at once (a Backup takes over after Skew_Time), and the router is never Active until undrained'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "undrain" -d 'Back to the configured (or set) priority'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "set-priority" -d 'Run at N (1..=254) instead of the configured priority; checks still apply'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Forget what was drained or set'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "show" -d 'What is drained or set'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand ctl; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand import-keepalived" -s o -l output -d 'Write the TOML here instead of to stdout' -r -F
complete -c vrrpd -n "__fish_vrrpd_using_subcommand import-keepalived" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "run" -d 'Run the daemon in the foreground'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "check" -d 'Validate a configuration file and print what would run, with RFC 9568 timers'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "status" -d 'Ask the running daemon for its state (its HTTP status endpoint)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "ctl" -d 'Drain this node or change a router\'s priority while the daemon runs (its control socket)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "import-keepalived" -d 'Convert a keepalived.conf (the vrrp_instance / vrrp_script subset) into a vrrpd config'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and not __fish_seen_subcommand_from run check status ctl import-keepalived help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and __fish_seen_subcommand_from ctl" -f -a "drain" -d 'Priority 0: an Active steps down at once (a Backup takes over after Skew_Time), and the router is never Active until undrained'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and __fish_seen_subcommand_from ctl" -f -a "undrain" -d 'Back to the configured (or set) priority'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and __fish_seen_subcommand_from ctl" -f -a "set-priority" -d 'Run at N (1..=254) instead of the configured priority; checks still apply'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and __fish_seen_subcommand_from ctl" -f -a "reset" -d 'Forget what was drained or set'
complete -c vrrpd -n "__fish_vrrpd_using_subcommand help; and __fish_seen_subcommand_from ctl" -f -a "show" -d 'What is drained or set'
