function __thothctl_values --argument-names spec cfg env prog prefix
    switch "$spec"
        case 'choice *'
            for value in (string split ' ' -- (string replace 'choice ' '' -- $spec))
                printf '%s%s\n' "$prefix" $value
            end
        case 'dyn *'
            set -l args __complete (string replace 'dyn ' '' -- $spec)
            test -n "$cfg"; and set -a args --config $cfg
            test -n "$env"; and set -a args --env $env
            command -q $prog; or set prog thothctl
            for line in ($prog $args 2>/dev/null)
                printf '%s%s\n' "$prefix" $line
            end
        case file
            __fish_complete_path (commandline -ct | string replace -r -- '^--[^=]*=' '')
    end
end

function __thothctl_complete --description 'Complete thothctl from its command tree'
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog $tokens[1]
    set -l cmdpath ''
    set -l pending ''
    set -l cfg ''
    set -l env ''
    set -l npos 0
    set -l i 1
    for word in $tokens[2..-1]
        set i (math $i + 1)
        if test -n "$pending"
            switch $pending
                case --config -c
                    set cfg $word
                case --env -e
                    set env $word
            end
            set pending ''
            continue
        end
        if test "$word" = --
            # Everything after -- belongs to another program (thothctl exec -- CMD ...).
            set -l rest $tokens[(math $i + 1)..-1]
            complete -C (string join ' ' -- (string escape -- $rest) "$cur")
            return
        end
        switch $word
            case '--*=*'
                set -l parts (string split -m 1 '=' -- $word)
                switch $parts[1]
                    case --config
                        set cfg $parts[2]
                    case --env
                        set env $parts[2]
                end
                continue
            case '-*'
                if contains -- $word (__thothctl_value_options "$cmdpath")
                    set pending $word
                end
                continue
        end
        if test -n "$word"; and contains -- $word (__thothctl_subcommands "$cmdpath" | string replace -r '\t.*' '')
            set cmdpath (string trim -- "$cmdpath $word")
            set npos 0
        else
            set npos (math $npos + 1)
        end
    end
    if test -n "$pending"
        set -l spec (__thothctl_option_values "$cmdpath" $pending)
        __thothctl_values "$spec" "$cfg" "$env" $prog ''
        return
    end
    if string match -q -- '--*=*' $cur
        set -l opt (string split -m 1 '=' -- $cur)[1]
        set -l spec (__thothctl_option_values "$cmdpath" $opt)
        __thothctl_values "$spec" "$cfg" "$env" $prog "$opt="
        return
    end
    if string match -q -- '-*' $cur
        __thothctl_options "$cmdpath"
        return
    end
    set -l subs (__thothctl_subcommands "$cmdpath")
    if test (count $subs) -gt 0
        printf '%s\n' $subs
        return
    end
    set -l spec (__thothctl_arg_values "$cmdpath" $npos)
    __thothctl_values "$spec" "$cfg" "$env" $prog ''
end

complete -c thothctl -e
complete -c thothctl -f -a '(__thothctl_complete)'
