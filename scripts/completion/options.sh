__thothctl_option_word() {  # WORD CMDPATH: status 0 when WORD is an option or an option's value
    # Sets the caller's cfg and env (--config, --env) and pending (an option awaiting its value).
    if [[ -n $pending ]]; then
        case "$pending" in
            --config | -c) cfg="$1" ;;
            --env | -e) env="$1" ;;
        esac
        pending=""
        return 0
    fi
    case "$1" in
        --) return 1 ;;
        --*=*)
            case "${1%%=*}" in
                --config) cfg="${1#*=}" ;;
                --env) env="${1#*=}" ;;
            esac ;;
        -*)
            __thothctl_value_options "$2"
            [[ " $__tc_r " == *" $1 "* ]] && pending="$1" ;;
        *) return 1 ;;
    esac
    return 0
}
