__thothctl_dynamic() {  # KIND CONFIG ENV -> candidates, one a line (descriptions dropped)
    local prog="${COMP_WORDS[0]}" line
    command -v "$prog" >/dev/null 2>&1 || prog=thothctl
    local -a args=(__complete "$1")
    [[ -n $2 ]] && args+=(--config "${2/#\~/$HOME}")
    [[ -n $3 ]] && args+=(--env "$3")
    "$prog" "${args[@]}" 2>/dev/null | while IFS= read -r line; do
        printf '%s\n' "${line%%$'\t'*}"
    done
}

__thothctl_reply() {  # SPEC CURRENT CONFIG ENV [PREFIX]
    local spec="$1" cur="$2" prefix="${5-}" words="" i
    case "$spec" in
        choice\ *) words="${spec#choice }" ;;
        dyn\ *) words="$(__thothctl_dynamic "${spec#dyn }" "$3" "$4")" ;;
        file)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        *) return ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    if [[ -n $prefix ]]; then
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$prefix${COMPREPLY[i]}"; done
    fi
}

_thothctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" pending="" word cfg="" env="" i
    local -i npos=0
    local __tc_r
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        [[ -n $pending && $word == "=" ]] && continue
        __thothctl_option_word "$word" "$cmdpath" && continue
        if [[ $word == -- ]]; then
            # Everything after -- belongs to another program (thothctl exec -- CMD ...).
            if ((i + 1 == COMP_CWORD)); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                compopt -o default 2>/dev/null
            fi
            return
        fi
        __thothctl_subcommands "$cmdpath"
        if [[ -n $word && " $__tc_r " == *" $word "* ]]; then
            cmdpath="${cmdpath:+$cmdpath }$word"
            npos=0
        else
            npos+=1
        fi
    done
    [[ $cur == "=" ]] && cur=""
    if [[ -n $pending ]]; then
        __thothctl_option_values "$cmdpath|$pending"
        __thothctl_reply "$__tc_r" "$cur" "$cfg" "$env"
        return
    fi
    if [[ $cur == --*=* ]]; then
        __thothctl_option_values "$cmdpath|${cur%%=*}"
        __thothctl_reply "$__tc_r" "${cur#*=}" "$cfg" "$env" "${cur%%=*}="
        return
    fi
    if [[ $cur == -* ]]; then
        __thothctl_options "$cmdpath"
        COMPREPLY=($(compgen -W "$__tc_r" -- "$cur"))
        return
    fi
    __thothctl_subcommands "$cmdpath"
    if [[ -n $__tc_r ]]; then
        COMPREPLY=($(compgen -W "$__tc_r" -- "$cur"))
        return
    fi
    __thothctl_arg_values "$cmdpath|$npos"
    __thothctl_reply "$__tc_r" "$cur" "$cfg" "$env"
}

complete -F _thothctl thothctl
