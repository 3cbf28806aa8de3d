//! The keepalived keywords vrrpd has no setting for, and why.

/// Keywords vrrpd has no equivalent for (yet), with the reason given in the listing.
pub(super) fn unsupported(key: &str) -> Option<&'static str> {
    Some(match key {
        "track_process" | "track_bfd" | "track_src_ip" => {
            "vrrpd tracks only its [check.NAME] health checks"
        }
        "virtual_ipaddress_excluded" => {
            "vrrpd installs only the VIPs it advertises: add these to another router or configure them otherwise"
        }
        "virtual_routes" | "virtual_rules" => {
            "vrrpd does not install routes or rules on becoming Active: use a notify hook"
        }
        "smtp_alert"
        | "notification_email"
        | "notification_email_from"
        | "smtp_server"
        | "smtp_connect_timeout"
        | "smtp_helo_name" => "vrrpd sends no e-mail: use a notify hook",
        "garp_master_refresh_repeat" | "vrrp_garp_master_refresh_repeat" => {
            "each refresh sends the takeover's burst (`garp.burst`, keepalived's garp_master_repeat), not a count of its own"
        }
        "garp_lower_prio_delay"
        | "garp_lower_prio_repeat"
        | "vrrp_garp_lower_prio_delay"
        | "vrrp_garp_lower_prio_repeat" => "vrrpd sends gratuitous ARP only on becoming Active",
        "vrrp_garp_interval" | "garp_interval" => {
            "vrrpd sends each burst of gratuitous ARP without a delay between messages"
        }
        "use_ipvlan" | "vmac_xmit_base" | "use_vmac_addr" => {
            "vrrpd serves the VIPs from its own TAP device with the virtual MAC"
        }
        "lvs_sync_daemon" | "lvs_sync_daemon_interface" => "vrrpd does not drive IPVS",
        "unicast_ttl" | "mcast_dst_ip" | "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            "vrrpd always advertises to 224.0.0.18 (ff02::12 for IPv6) with TTL (hop limit) 255"
        }
        "down_timer_adverts" | "vrrp_down_timer_adverts" => {
            "vrrpd uses RFC 9568's Active_Down_Interval (3 intervals + Skew_Time)"
        }
        "higher_prio_send_advert"
        | "vrrp_higher_prio_send_advert"
        | "lower_prio_no_advert"
        | "vrrp_lower_prio_no_advert" => {
            "vrrpd follows RFC 9568 on lower and higher priority adverts"
        }
        "vrrp_delay_after_boot" => {
            "vrrpd does not look at the uptime: set startup_delay for a delay at every start"
        }
        "vrrp_iptables" | "vrrp_nftables" | "nftables" | "vrrp_ipsets" => {
            "vrrpd does not use a firewall: accept = false is enforced on its TAP"
        }
        "vrrp_notify_fifo" | "vrrp_notify_fifo_script" | "notify_fifo" | "notify_fifo_script" => {
            "vrrpd has no notify FIFO: use a notify hook"
        }
        "notify_master_rx_lower_pri"
        | "notify_deleted"
        | "notify_priority_changes"
        | "vrrp_notify_priority_changes" => "vrrpd runs hooks on state changes only",
        "virtual_server" | "virtual_server_group" | "real_server" => {
            "LVS configuration: vrrpd does not drive IPVS"
        }
        "vrrp_track_process" | "bfd_instance" | "garp_group" => "vrrpd has no equivalent yet",
        "static_ipaddress" | "static_routes" | "static_rules" | "linkbeat_interfaces" => {
            "vrrpd does not configure static addresses, routes or rules"
        }
        "debug"
        | "kernel_rx_buf_size"
        | "linkbeat_use_polling"
        | "skip_check_adv_addr"
        | "vrrp_skip_check_adv_addr"
        | "old_unicast_checksum" => "vrrpd has no such option",
        _ => return None,
    })
}

/// Keywords of global_defs that change nothing vrrpd does; each still gets a comment.
pub(super) fn inert_global(key: &str) -> Option<&'static str> {
    Some(match key {
        "router_id" => {
            "names this host in keepalived's e-mails and SNMP; vrrpd's status names VRIDs"
        }
        "vrrp_check_unicast_src" => "vrrpd always drops adverts from sources outside `peers`",
        "max_auto_priority"
        | "vrrp_priority"
        | "vrrp_rlimit_rttime"
        | "vrrp_cpu_affinity"
        | "checker_priority"
        | "checker_no_swap"
        | "checker_rt_priority"
        | "process_names"
        | "process_name"
        | "vrrp_process_name"
        | "checker_process_name"
        | "dynamic_interfaces"
        | "enable_snmp_vrrp"
        | "enable_snmp_checker"
        | "enable_snmp_rfc"
        | "enable_snmp_rfcv2"
        | "enable_snmp_rfcv3"
        | "enable_traps"
        | "snmp_socket"
        | "lvs_flush"
        | "lvs_timeouts"
        | "default_interface" => {
            "a keepalived process or LVS/SNMP setting with no counterpart in vrrpd"
        }
        _ => return None,
    })
}
