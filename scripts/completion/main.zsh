__thothctl_dynamic() {  # KIND CONFIG ENV -> $reply as "value:description"
    local prog="${words[1]}" line value desc
    (( $+commands[$prog] )) || [[ -x $prog ]] || prog=thothctl
    local -a args=(__complete "$1")
    [[ -n $2 ]] && args+=(--config "${~2}")
    [[ -n $3 ]] && args+=(--env "$3")
    reply=()
    for line in "${(@f)$("$prog" "${args[@]}" 2>/dev/null)}"; do
        [[ -z $line ]] && continue
        value="${line%%$'\t'*}"
        desc=""
        [[ $line == *$'\t'* ]] && desc="${line#*$'\t'}"
        reply+=("${value//:/\\:}${desc:+:$desc}")
    done
}

__thothctl_values() {  # SPEC CONFIG ENV
    local spec="$1"
    case "$spec" in
        choice\ *) compadd -- ${=${spec#choice }} ;;
        dyn\ *)
            __thothctl_dynamic "${spec#dyn }" "$2" "$3"
            (( ${#reply} )) && _describe -t values "${spec#dyn }" reply ;;
        file) _files ;;
    esac
}

_thothctl() {
    local cmdpath="" pending="" word cfg="" env="" cur="${words[CURRENT]}" __tc_r
    local -a reply
    local -i i npos=0
    for (( i = 2; i < CURRENT; i++ )); do
        word="${words[i]}"
        __thothctl_option_word "$word" "$cmdpath" && continue
        if [[ $word == -- ]]; then
            # Everything after -- belongs to another program (thothctl exec -- CMD ...).
            words=("${(@)words[i+1,-1]}")
            (( CURRENT -= i ))
            _normal
            return
        fi
        __thothctl_subcommands "$cmdpath"
        if [[ -n $word ]] && (( ${reply[(I)${word}:*]} )); then
            cmdpath="${cmdpath:+$cmdpath }$word"
            npos=0
        else
            npos+=1
        fi
    done
    if [[ -n $pending ]]; then
        __thothctl_option_values "$cmdpath|$pending"
        __thothctl_values "$__tc_r" "$cfg" "$env"
        return
    fi
    if [[ $cur == --*=* ]]; then
        __thothctl_option_values "$cmdpath|${cur%%=*}"
        compset -P '*='
        __thothctl_values "$__tc_r" "$cfg" "$env"
        return
    fi
    if [[ $cur == -* ]]; then
        __thothctl_options "$cmdpath"
        _describe -t options 'thothctl option' reply
        return
    fi
    __thothctl_subcommands "$cmdpath"
    if (( ${#reply} )); then
        _describe -t commands 'thothctl command' reply
        return
    fi
    __thothctl_arg_values "$cmdpath|$npos"
    __thothctl_values "$__tc_r" "$cfg" "$env"
}

if [[ "${funcstack[1]}" == "_thothctl" ]]; then
    # Autoloaded from $fpath by compinit.
    _thothctl "$@"
else
    # Sourced (after compinit).
    compdef _thothctl thothctl
fi
