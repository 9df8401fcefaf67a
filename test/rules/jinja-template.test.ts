import { describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, chatTemplateFindings, checkChatTemplate, decodeEscapes, utf8ByteLength } from '../../src/rules/jinja-template.ts';

const ESCAPE = 'template.jinja.sandbox-escape';
const UNUSUAL = 'template.jinja.unusual-construct';

// Realistic templates in the shape the big model families ship (written for these tests).

const LLAMA_3_STYLE = String.raw`{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{#- Pull the system message out so it goes in the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
`;

const QWEN_CHATML_STYLE = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nReturn each call as <tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index and reasoning_content %}
            {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}
`;

const MISTRAL_STYLE = String.raw`{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
`;

const GEMMA_STYLE = String.raw`{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}`;

const DEEPSEEK_STYLE = String.raw`{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is none %}{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{{'<｜Assistant｜><｜tool▁calls▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] + '\n' + '` + '```json' + String.raw`' + '\n' + tool['function']['arguments'] + '<｜tool▁call▁end｜>'}}{%- set ns.is_first = true -%}{%- endif %}{%- endfor %}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}{% if add_generation_prompt %}{{'<｜Assistant｜><think>\n'}}{% endif %}`;

/** Legitimate uses of the Jinja globals, and words that only look dangerous. */
const GLOBALS_USED_NORMALLY = String.raw`{# The system prompt explains how __class__ and os.popen work; this comment is not code. #}
{#- Payloads look like {{ lipsum.__globals__.os.popen('id') }}; a comment never runs. -#}
You are a helpful system. Never run os.system or eval() for the user.
{% set row = cycler('odd', 'even') %}{% set comma = joiner(', ') %}
{%- for message in messages -%}
{{ comma() }}<div class="{{ row.next() }} {{ loop.cycle('a', 'b') }}">{{ '__' + message['content']|string + '__' }}</div>
{%- if message['role'] == 'system' %}{{ message['system'] if message['system'] is defined else '' }}{% endif %}
{%- endfor %}
{% raw %}{{ lipsum.__globals__ }} is how the attack looks{% endraw %}
{{ strftime_now("%d %b %Y") }}
{%- if tool.platform in ['os'] or tool.name not in ['system', 'sys'] %}{{ (message.content|string)[:100] }}{% endif %}`;

const BENIGN = [
  { name: 'Llama 3 style (tools, date, trim, tojson)', template: LLAMA_3_STYLE },
  { name: 'Qwen/ChatML style (namespace, reversed loop, think split)', template: QWEN_CHATML_STYLE },
  { name: 'Mistral style (raise_exception, alternation check)', template: MISTRAL_STYLE },
  { name: 'Gemma style (role rename, single line)', template: GEMMA_STYLE },
  { name: 'DeepSeek style (namespace flags, non-ASCII markers)', template: DEEPSEEK_STYLE },
  { name: 'globals used as constructors, dangerous words in text, comments and raw', template: GLOBALS_USED_NORMALLY },
];

describe('checkChatTemplate on realistic benign templates', () => {
  it.each(BENIGN)('finds nothing in: $name', ({ template }) => {
    expect(checkChatTemplate(template)).toEqual([]);
  });

  it('does not flag "system" as a compared string, a subscript key or text', () => {
    const template = `{% if message['role'] == 'system' %}system{{ '<|im_start|>system\\n' + messages[0]['system'] }}{% endif %}`;
    expect(checkChatTemplate(template)).toEqual([]);
  });
});

const MALICIOUS: { name: string; template: string; pattern: string; at: string }[] = [
  {
    name: 'CVE-2024-34359 proof of concept',
    template: `{% for x in ().__class__.__base__.__subclasses__() %}{% if "warning" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen("touch /tmp/retr0reg")}}{%endif%}{% endfor %}`,
    pattern: 'dunder:__subclasses__',
    at: '__subclasses__',
  },
  { name: 'lipsum globals to os.popen', template: `{{ lipsum.__globals__['os'].popen('id').read() }}`, pattern: 'module-access:os', at: `'os'` },
  { name: 'cycler init globals', template: `{{ cycler.__init__.__globals__.os.popen('id').read() }}`, pattern: 'global-walk:cycler', at: 'cycler' },
  { name: 'joiner to builtins import', template: `{{ joiner.__init__.__globals__.__builtins__.__import__('os').system('id') }}`, pattern: 'process-call:system', at: 'system' },
  { name: 'namespace walked, not constructed', template: `{{ namespace.__init__.__globals__ }}`, pattern: 'global-walk:namespace', at: 'namespace' },
  { name: 'attr with ~ concatenation', template: `{{ ''|attr('__cla' ~ 'ss__') }}`, pattern: 'dunder:__class__', at: `'__cla'` },
  { name: 'attr with + concatenation', template: `{{ ''|attr('__cla' + 'ss__')|attr('__mro__') }}`, pattern: 'dunder:__class__', at: `'__cla'` },
  { name: 'hex escapes', template: `{{ ''|attr("\\x5f\\x5fclass\\x5f\\x5f") }}`, pattern: 'dunder:__class__', at: '"' },
  { name: 'unicode escapes', template: `{{ ''|attr('\\u005f\\u005fclass\\u005f\\u005f') }}`, pattern: 'dunder:__class__', at: `'\\u005f` },
  { name: 'octal escapes', template: `{{ ''|attr('\\137\\137class\\137\\137') }}`, pattern: 'dunder:__class__', at: `'\\137` },
  { name: 'named escapes', template: `{{ ''|attr('\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}') }}`, pattern: 'dunder:__class__', at: `'\\N{` },
  { name: 'tuple |join', template: `{{ ()|attr(('__cla', 'ss__')|join) }}`, pattern: 'dunder:__class__', at: `('__cla'` },
  { name: 'list |join with separator', template: `{{ ()|attr(['_', 'class', '_']|join('_')) }}`, pattern: 'dunder:__class__', at: `['_'` },
  { name: '|format with %c', template: `{{ ()|attr('%c%cclass%c%c'|format(95, 95, 95, 95)) }}`, pattern: 'dunder:__class__', at: `'%c` },
  { name: '% formatting', template: `{{ ()|attr('%sclass%s' % ('__', '__')) }}`, pattern: 'dunder:__class__', at: `'%s` },
  { name: '.format', template: `{{ ()|attr('{}class{}'.format('__', '__')) }}`, pattern: 'dunder:__class__', at: `'{}` },
  { name: 'repeat and concatenate', template: `{{ ()|attr('_' * 2 ~ 'class' ~ '_' * 2) }}`, pattern: 'dunder:__class__', at: `'_'` },
  { name: 'reversed with |reverse', template: `{{ ()|attr('__ssalc__'|reverse) }}`, pattern: 'dunder:__class__', at: `'__ssalc__'` },
  { name: 'reversed with a slice', template: `{{ ()|attr('__ssalc__'[::-1]) }}`, pattern: 'dunder:__class__', at: `'__ssalc__'` },
  { name: '|replace', template: `{{ ()|attr('__clXass__'|replace('X', '')) }}`, pattern: 'dunder:__class__', at: `'__clXass__'` },
  { name: 'subscript walk', template: `{{ ()['__class__']['__base__'] }}`, pattern: 'dunder:__base__', at: `'__base__'` },
  { name: 'request.args indirection', template: `{{ lipsum|attr(request.args.a)|attr(request.args.b) }}`, pattern: 'global-walk:request', at: 'request' },
  {
    name: 'constants split across set blocks',
    template: `{% set a = '__glo' %}{% set b = a ~ 'bals__' %}{{ lipsum|attr(b) }}`,
    pattern: 'dunder:__globals__',
    at: 'b) }}',
  },
  { name: 'block set of plain text', template: `{% set a %}__globals__{% endset %}{{ x|attr(a) }}`, pattern: 'dunder:__globals__', at: 'a) }}' },
  { name: 'self template reference', template: `{{ self._TemplateReference__context.joiner }}`, pattern: 'global-walk:self', at: 'self' },
  { name: 'generator frame walk without dunders', template: `{{ (range(1)|map('string')).gi_frame.f_back.f_globals }}`, pattern: 'internal-attribute:gi_frame', at: 'gi_frame' },
  { name: 'format-string attribute walk', template: `{{ "{0.__class__.__init__.__globals__}".format(x) }}`, pattern: 'dunder-string:__class__', at: '"{0' },
  { name: 'adjacent literals', template: `{{ x['__cla' 'ss__'] }}`, pattern: 'dunder:__class__', at: `'__cla'` },
  { name: 'map attribute argument', template: `{{ [x]|map(attribute='__class__')|list }}`, pattern: 'dunder:__class__', at: `'__class__'` },
  { name: 'config walk (Flask)', template: `{{ config.__class__.from_envvar.__globals__ }}`, pattern: 'global-walk:config', at: 'config' },
  { name: 'whitespace control and unclosed block', template: `hello {{- x.__class__.__mro__[1]`, pattern: 'dunder:__mro__', at: '__mro__' },
];

describe('checkChatTemplate on sandbox escapes', () => {
  it.each(MALICIOUS)('flags $name as $pattern at the right offset', ({ template, pattern, at }) => {
    const matches = checkChatTemplate(template);
    const match = matches.find((candidate) => candidate.pattern === pattern);
    expect(match, JSON.stringify(matches.map((candidate) => candidate.pattern))).toBeDefined();
    expect(match!.rule).toBe(ESCAPE);
    expect(match!.offset).toBe(template.indexOf(at));
    expect(match!.excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
    expect(template).toContain(match!.excerpt);
  });

  it('finds every hop of the proof of concept, in template order', () => {
    const patterns = checkChatTemplate(MALICIOUS[0].template)
      .filter((match) => match.rule === ESCAPE)
      .map((match) => match.pattern);
    expect(patterns).toEqual([
      'dunder:__class__',
      'dunder:__base__',
      'dunder:__subclasses__',
      'internal-attribute:_module',
      'dunder:__builtins__',
      'dunder:__import__',
      'process-call:popen',
    ]);
  });

  it('still flags an escape hidden in a long benign template', () => {
    const template = `${QWEN_CHATML_STYLE}{{ ''|attr('__cla' ~ 'ss__') }}`;
    const matches = checkChatTemplate(template);
    expect(matches.map((match) => match.pattern)).toEqual(['dunder:__class__']);
    expect(matches[0].offset).toBe(template.lastIndexOf(`'__cla'`));
  });
});

describe('checkChatTemplate on unusual constructs', () => {
  it.each([
    { template: `{{ x|attr(name) }}`, pattern: 'attr-dynamic', at: 'attr' },
    { template: `{{ message._private }}`, pattern: 'private-attribute:_private', at: '_private' },
    { template: `{{ message.__len__() }}`, pattern: 'dunder-attribute:__len__', at: '__len__' },
    { template: `{{ (x|string)[3] }}`, pattern: 'string-char-picking', at: 'string' },
    { template: `{% include 'header.jinja' %}`, pattern: 'template-loader:include', at: 'include' },
    { template: `{{ '\\x41BC' }}`, pattern: 'escape-sequence', at: `'` },
    { template: `{{ '__cla' ~ suffix }}`, pattern: 'dunder-fragment', at: `'__cla'` },
    { template: `{% set f = lipsum %}`, pattern: 'global-reference:lipsum', at: 'lipsum' },
  ])('reports $pattern as unusual, not as an escape', ({ template, pattern, at }) => {
    const matches = checkChatTemplate(template);
    expect(matches).toEqual([{ rule: UNUSUAL, pattern, offset: template.indexOf(at), excerpt: template }]);
  });

  it('keeps legitimate escapes (newlines, tabs, non-ASCII) quiet', () => {
    expect(checkChatTemplate(`{{ '\\n\\t' + '\\u00e9\\u4e2d' + "\\"" }}`)).toEqual([]);
  });
});

describe('checkChatTemplate bounds its work', () => {
  it('does not build a huge string for a repeat bomb', () => {
    const started = performance.now();
    expect(checkChatTemplate(`{{ '_' * 1000000000 ~ 'x' }}`)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('checks a 2 MB template with thousands of blocks quickly', () => {
    const template = `${MISTRAL_STYLE.repeat(2000)}{{ lipsum.__globals__ }}`;
    expect(template.length).toBeGreaterThan(2_000_000);
    const started = performance.now();
    const matches = checkChatTemplate(template);
    expect(matches.map((match) => match.pattern)).toEqual(['global-walk:lipsum', 'dunder:__globals__']);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reads one block longer than a segment, with a payload across the segment edge', () => {
    // 19,998 tokens of `x ~` and a unary `-`: `lipsum` is the last token of the first 20,000-token segment, `.` the first of the next.
    const template = `{{ ${'x ~ '.repeat(9_999)}-lipsum.__globals__ }}`;
    const escapes = checkChatTemplate(template).filter((match) => match.rule === ESCAPE);
    expect(escapes.map((match) => [match.pattern, match.offset])).toEqual([
      ['global-walk:lipsum', template.indexOf('lipsum')],
      ['dunder:__globals__', template.indexOf('__globals__')],
    ]);
  });

  it('keeps at most 500 matches of a rule', () => {
    expect(checkChatTemplate('{{ x.__class__ }}'.repeat(2000))).toHaveLength(500);
  });

  it('does not let unusual constructs crowd out a later escape', () => {
    const template = `${'{{ x._private }}'.repeat(2000)}{{ lipsum.__globals__ }}`;
    const matches = checkChatTemplate(template);
    expect(matches.filter((match) => match.rule === UNUSUAL)).toHaveLength(500);
    expect(matches.filter((match) => match.rule === ESCAPE).map((match) => match.pattern)).toEqual(['global-walk:lipsum', 'dunder:__globals__']);
  });
});

describe('decodeEscapes', () => {
  it.each([
    { body: String.raw`\x5f\x5f`, value: '__', plain: true },
    { body: String.raw`\u005fa`, value: '_a', plain: true },
    { body: String.raw`\U0000005f`, value: '_', plain: true },
    { body: String.raw`\137`, value: '_', plain: true },
    { body: String.raw`\N{LOW LINE}`, value: '_', plain: true },
    { body: String.raw`a\nb\tc\\d\'e`, value: "a\nb\tc\\d'e", plain: false },
    { body: String.raw`\u00e9`, value: 'é', plain: false },
    { body: String.raw`\q\x4`, value: String.raw`\q\x4`, plain: false },
  ])('decodes $body', ({ body, value, plain }) => {
    expect(decodeEscapes(body)).toEqual({ value, escapedPlain: plain });
  });
});

describe('chatTemplateFindings', () => {
  it('gives one finding per rule, with patterns, the first excerpt and byte offsets', () => {
    const template = `é{{ x|attr(y) }}{{ lipsum.__globals__.os }}`;
    const findings = chatTemplateFindings(template, { source: 'tokenizer.chat_template', location: { offset: 100, length: 50 }, fileOffset: 100 });
    expect(findings.map((finding) => [finding.rule, finding.severity])).toEqual([
      [ESCAPE, 'critical'],
      [UNUSUAL, 'medium'],
    ]);
    const [escape, unusual] = findings;
    expect(escape.detail).toContain('global-walk:lipsum, dunder:__globals__, module-access:os (3 matches;');
    // "é" is two bytes in UTF-8: character 19 is byte 20 of the template.
    expect(escape.detail).toContain(`character ${template.indexOf('lipsum')}, file offset ${100 + 1 + template.indexOf('lipsum')}`);
    expect(escape.location).toEqual({ offset: 100, length: 50 });
    expect(escape.evidence).toBe(template);
    expect(escape.references).toContain('CVE-2024-34359');
    expect(unusual.detail).toContain('attr-dynamic');
  });

  it('returns nothing for a clean template', () => {
    expect(chatTemplateFindings(GEMMA_STYLE, { source: 'chat_template.jinja', location: {} })).toEqual([]);
  });

  it('counts UTF-8 bytes like an encoder', () => {
    for (const text of ['', 'abc', 'é', '中文', '😀x', '\ud800']) {
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});
